"""Peer: Hugging Face transformers on PyTorch, run by `benchmarks.run --peers` with `.venv-ref/bin/python`.

    .venv-ref/bin/python -m benchmarks.peer_hf_torch '{"kind": "train", "config": "small", "batch": 32, ...}'

`BertForSequenceClassification` from a `BertConfig` of the same size as `benchmarks.models` (no download),
eager mode, AdamW; prints one `RESULT {json}` line like `benchmarks.measure`. Imports neither TensorFlow
nor bert_keras (that venv has neither).

`train_real` / `infer_real` (real reviews from raw strings, see `benchmarks.real_text`): the bundled
all-MiniLM-L6-v2 loaded with `from_pretrained` and its fast tokenizer, at Hugging Face's best settings for
this: `DataCollatorWithPadding` (each batch padded to its longest row) over `LengthGroupedSampler` batches
(the Trainer's `group_by_length`) for training, batches sorted by length for prediction; tokenization timed.

`explain`: Captum's `LayerIntegratedGradients` on single real reviews, against `benchmarks.measure.explain`.
"""

import contextlib
import json
import sys
import time

from benchmarks.timing import hf_bert_config, summary, time_steps


def _autocast(spec):
    """PyTorch's own mixed precision for spec["precision"] == "mixed_bfloat16": `torch.autocast("cpu",
    bfloat16)` around forward and loss (fp32 master weights, as Keras's mixed_bfloat16 policy)."""
    import torch
    if spec.get("precision", "float32") == "mixed_bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()

def real_text(spec):
    """One epoch of fine-tuning, or one `predict` pass, on real texts from raw strings."""
    import numpy as np
    import torch
    from transformers import BertForSequenceClassification, BertTokenizerFast, DataCollatorWithPadding
    from transformers.trainer_pt_utils import LengthGroupedSampler

    with open(spec["texts_file"], encoding="utf-8") as f:
        data = json.load(f)
    texts, labels = data["texts"][:spec["examples"]], data["labels"][:spec["examples"]]
    torch.manual_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(spec["checkpoint"])
    model = BertForSequenceClassification.from_pretrained(spec["checkpoint"], num_labels=2)
    collate = DataCollatorWithPadding(tokenizer)
    batch, seq = spec["batch"], spec["seq"]
    training = spec["kind"] == "train_real"
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01, eps=1e-6) if training else None
    padding = {"real": 0, "slots": 0}

    def run(texts, labels, epoch):
        encoded = tokenizer(texts, truncation=True, max_length=seq)
        rows = [{"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
                for ids, types, mask in zip(encoded["input_ids"], encoded["token_type_ids"],
                                            encoded["attention_mask"])]
        lengths = [len(r["input_ids"]) for r in rows]
        if training:
            model.train()
            order = list(LengthGroupedSampler(batch, lengths=lengths, generator=torch.Generator().manual_seed(epoch)))
        else:
            model.eval()
            order = list(np.argsort(lengths, kind="stable"))
        for start in range(0, len(order), batch):
            ids = order[start:start + batch]
            features = collate([rows[i] for i in ids])
            padding["real"] += int(features["attention_mask"].sum())
            padding["slots"] += features["attention_mask"].numel()
            if training:
                optimizer.zero_grad()
                with _autocast(spec):
                    loss = model(**features, labels=torch.tensor([labels[i] for i in ids])).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            else:
                with torch.inference_mode(), _autocast(spec):
                    model(**features).logits.float().numpy()

    warm = spec.get("warmup_examples", 256)
    run(texts[:warm], labels[:warm], 0)
    padding.update(real=0, slots=0)
    times = []
    for epoch in range(spec["runs"]):
        start = time.perf_counter()
        run(texts, labels, epoch + 1)
        times.append(time.perf_counter() - start)
    out = summary(times, len(texts))
    out["real_tokens_per_s"] = padding["real"] / spec["runs"] / float(np.median(times))
    out["padding_fraction"] = 1.0 - padding["real"] / padding["slots"]
    return out


def explain(spec):
    """Captum's `LayerIntegratedGradients` on `embeddings.word_embeddings` of the bundled all-MiniLM-L6-v2
    (`BertModel.from_pretrained`, float32, eval) with the fixed linear head of `benchmarks.timing.explain_head` on
    `pooler_output`, as tests/fixtures/make_captum_reference.py sets it up: target softmax(head(pooler))[c], c the
    predicted class, baseline [CLS] [PAD] ... [SEP] (same mask and token types), `n_steps=steps`,
    `method="gausslegendre"`, `internal_batch_size` from the spec (None: all steps in one batch),
    `return_convergence_delta=True` (the completeness check, which ours returns too). One call per review, timed
    from the raw string (tokenization and the prediction that picks the target included), after the same warm-up
    as ours."""
    import numpy as np
    import torch
    from captum.attr import LayerIntegratedGradients
    from transformers import BertModel, BertTokenizerFast

    from benchmarks.timing import explain_head, explain_texts

    warm, texts = explain_texts(spec)
    torch.manual_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(spec["checkpoint"])
    model = BertModel.from_pretrained(spec["checkpoint"]).float().eval()
    kernel, bias = explain_head(model.config.hidden_size)
    w, b = torch.from_numpy(kernel), torch.from_numpy(bias)

    def probabilities(input_ids, attention_mask, token_type_ids):
        out = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return torch.softmax(out.pooler_output @ w + b, dim=-1)

    ig = LayerIntegratedGradients(probabilities, model.embeddings.word_embeddings)
    specials = torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id])
    steps, batch = spec["steps"], spec.get("internal_batch_size")
    errors, tokens = [], []

    def one(text):
        enc = tokenizer(text, truncation=True, max_length=spec.get("seq", 128), return_tensors="pt")
        ids, mask, types = enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]
        base = torch.where(torch.isin(ids, specials), ids, torch.full_like(ids, tokenizer.pad_token_id))
        with torch.no_grad():
            cls = int(probabilities(ids, mask, types)[0].argmax())
        attr, delta = ig.attribute(ids, baselines=base, additional_forward_args=(mask, types), target=cls,
                                   n_steps=steps, method="gausslegendre", internal_batch_size=batch,
                                   return_convergence_delta=True)
        scores = attr.sum(-1)[0].detach().numpy()
        # delta = sum(attributions) - (f(x) - f(baseline)): the completeness error relative to f(x) - f(baseline).
        d = float(delta.detach().reshape(-1)[0])
        errors.append(abs(d) / abs(float(scores.sum()) - d))
        tokens.append(int(ids.shape[1]))

    for text in warm:
        one(text)
    errors.clear()
    tokens.clear()
    times = []
    for text in texts:
        start = time.perf_counter()
        one(text)
        times.append(time.perf_counter() - start)
    return {**summary(times, 1), "ms_per_review": float(1e3 * np.median(times)), "steps": steps,
            "examples": len(texts), "completeness_error": float(np.median(errors)),
            "mean_tokens": float(np.mean(tokens)), "internal_batch_size": batch, "ms_each": [1e3 * t for t in times],
            "attn_implementation": model.config._attn_implementation}


def main(argv):
    import numpy as np
    import torch
    from transformers import BertForSequenceClassification

    spec = json.loads(argv[1])
    if spec["kind"] in ("train_real", "infer_real"):
        record = {"spec": spec, "torch": torch.__version__, "threads": torch.get_num_threads(), **real_text(spec)}
        print("RESULT " + json.dumps(record))
        return
    if spec["kind"] == "explain":
        import captum
        record = {"spec": spec, "torch": torch.__version__, "captum": captum.__version__,
                  "threads": torch.get_num_threads(), **explain(spec)}
        print("RESULT " + json.dumps(record))
        return
    torch.manual_seed(0)
    model = BertForSequenceClassification(hf_bert_config(spec["config"]))
    rng = np.random.default_rng(0)
    batch, seq = spec["batch"], spec["seq"]
    ids = torch.tensor(rng.integers(1000, 30522, size=(batch, seq)), dtype=torch.long)
    types = torch.zeros_like(ids)
    types[:, seq // 2:] = 1
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": types}
    labels = torch.tensor(rng.integers(0, 2, size=(batch,)), dtype=torch.long)
    if spec["kind"] == "train":
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01, eps=1e-6)

        def step():
            optimizer.zero_grad()
            with _autocast(spec):
                loss = model(**inputs, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    else:
        model.eval()

        def step():
            with torch.inference_mode(), _autocast(spec):
                model(**inputs).logits.float().numpy()
    times = time_steps(step, spec["warmup"], spec["runs"])
    record = {"spec": spec, "torch": torch.__version__, "threads": torch.get_num_threads(),
              **summary(times, batch)}
    print("RESULT " + json.dumps(record))


if __name__ == "__main__":
    main(sys.argv)
