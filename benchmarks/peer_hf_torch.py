"""Peer: Hugging Face transformers on PyTorch, run by `benchmarks.run --peers` with `.venv-ref/bin/python`.

    .venv-ref/bin/python -m benchmarks.peer_hf_torch '{"kind": "train", "config": "small", "batch": 32, ...}'

`BertForSequenceClassification` from a `BertConfig` of the same size as `benchmarks.models` (no download),
eager mode, AdamW; prints one `RESULT {json}` line like `benchmarks.measure`. Imports neither TensorFlow
nor bert_keras (that venv has neither).
"""

import json
import sys

from benchmarks.timing import SIZES, summary, time_steps

def main(argv):
    import numpy as np
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    spec = json.loads(argv[1])
    layers, hidden = SIZES[spec["config"]]
    config = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=hidden // 64, intermediate_size=4 * hidden, num_labels=2)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
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
            loss = model(**inputs, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                model(**inputs).logits.numpy()
    times = time_steps(step, spec["warmup"], spec["runs"])
    record = {"spec": spec, "torch": torch.__version__, "threads": torch.get_num_threads(),
              **summary(times, batch)}
    print("RESULT " + json.dumps(record))


if __name__ == "__main__":
    main(sys.argv)
