"""Our pretraining data next to Google's original create_pretraining_data.py on the same real text."""

import os

import numpy as np


def test_statistics_next_to_google_and_google_records_train_here(minilm_dir, tmp_path):
    from bert_keras.data.pretraining_corpus import bbc_news_documents
    from trainers.compare_pretraining_data import compare, google_module

    documents = bbc_news_documents()[1::12]
    vocab = os.path.join(minilm_dir, "vocab.txt")
    result = compare(documents, vocab, max_seq_length=128)
    ours, google = result["bert_keras"], result["google"]
    assert ours["rows"] > 600 and google["rows"] > 600
    assert abs(ours["selected_per_real_token"] - 0.15) < 0.005
    # Google's count is 15% of the row *including* [CLS]/[SEP]/[SEP], so it selects more of the real tokens.
    assert google["selected_per_real_token"] > ours["selected_per_real_token"]
    for stats in (ours, google):
        assert abs(stats["mask_share"] - 0.8) < 0.02 and stats["specials_selected"] == 0
    # Google forces a random B for single-sentence chunks: more than half its pairs are random.
    assert google["nsp_random_share"] > 0.53 and abs(ours["nsp_random_share"] - 0.5) < 0.035
    assert result["bert_keras_bucketed"]["padding_fraction"] < 0.5 * ours["padding_fraction"]

    # Records written by Google's own writer are read by our static pipeline.
    import random

    from bert import tokenization

    from bert_keras.data.pretraining_corpus import write_google_format
    from bert_keras.text.pretraining_dataset import read_pretraining_records

    google_mod = google_module()
    write_google_format(documents[:20], str(tmp_path / "c.txt"))
    tokenizer = tokenization.FullTokenizer(vocab, do_lower_case=True)
    instances = google_mod.create_training_instances([str(tmp_path / "c.txt")], tokenizer, 64, 1, 0.1, 0.15, 10,
                                                     random.Random(1))
    google_mod.write_instance_to_example_files(instances, tokenizer, 64, 10, [str(tmp_path / "g.tfrecord")])
    batch = next(iter(read_pretraining_records([str(tmp_path / "g.tfrecord")], 8, 64, 10, training=False,
                                               model_batches=False)))
    first = instances[0]
    n = len(first.tokens)
    np.testing.assert_array_equal(batch["input_word_ids"][0, :n], tokenizer.convert_tokens_to_ids(first.tokens))
    np.testing.assert_array_equal(batch["input_type_ids"][0, :n], first.segment_ids)
    k = len(first.masked_lm_positions)
    np.testing.assert_array_equal(batch["masked_lm_positions"][0, :k], first.masked_lm_positions)
    np.testing.assert_array_equal(batch["masked_lm_ids"][0, :k], tokenizer.convert_tokens_to_ids(first.masked_lm_labels))
    assert int(batch["next_sentence_labels"][0]) == int(first.is_random_next)
