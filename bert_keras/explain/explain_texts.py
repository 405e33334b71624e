"""One call per job: explain inputs with a named method, explain through an export, write the results to disk.

What `python -m trainers.explain` and `make demo` call (the CLI only parses flags and files). Writes JSON with
the standard library and pictures with `bert_keras.explain.report`, every file atomically.
"""

import json
import os

from bert_keras.explain.attention import attention_maps, attention_rollout
from bert_keras.explain.attributions import gradient_x_input, integrated_gradients
from bert_keras.explain.explanation import SPECIAL_PIECES, Explanation, completeness_error, words_of
from bert_keras.explain.report import (_write_atomic, attention_grid_png, html_report, rollout_png,
                                       text_heatmap_png)

METHODS = ("ig", "grad_input", "attention", "rollout")


def explain_texts(model, x, method="ig", steps=64, baseline="pad", target=None):
    """A flat list of `Explanation`s of `x` by `method`.

    Args:
        model: a task model with its preprocessor (see `integrated_gradients`).
        x: texts; `(texts_a, texts_b)` pairs; `(questions, contexts)` for QA.
        method: "ig" (integrated gradients), "grad_input" (gradient x input), "attention" (raw attention, the
            last layer's [CLS] row as scores) or "rollout" (attention rollout).
        steps, baseline, target: integrated gradients' (gradient x input takes `target` only; the attention
            views none of them: giving one is an error, not silently ignored).

    Returns:
        One explanation per input, per predicted entity (tagger), per answer start and end (QA).
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; use one of {METHODS}.")
    if method in ("attention", "rollout") and target is not None:
        raise ValueError(f"method={method!r} has no target (attention does not depend on the class): drop target.")
    if method == "ig":
        found = integrated_gradients(model, x, steps=steps, baseline=baseline, target=target)
    elif method == "grad_input":
        found = gradient_x_input(model, x, target=target)
    else:
        return (attention_maps if method == "attention" else attention_rollout)(model, x)
    return [e for item in found for e in (item if isinstance(item, list) else [item])]


def explain_with_saved_model(saved_model_dir, texts):
    """Explanations from an export's `explain` signature (integrated gradients at the export's steps), as a
    client of TF Serving gets them; `words` are rebuilt from the tokens as the Python API does."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the tokenizer's ops, as the model server links them)

    loaded = tf.saved_model.load(saved_model_dir)
    if "explain" not in loaded.signatures:
        raise ValueError(f"{saved_model_dir} has no `explain` signature (signatures: {sorted(loaded.signatures)}): "
                         "export a classifier or regressor with explain_steps > 0 (python -m export.saved_model "
                         "--explain_steps 32), or explain the model directory with --model_dir.")
    metadata = {}
    path = os.path.join(saved_model_dir, "assets.extra", "bert_keras_export.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            metadata = json.load(f)
    regression = metadata.get("task") == "regress"
    out = {k: v.numpy() for k, v in loaded.signatures["explain"](text=tf.constant(list(texts))).items()}
    result = []
    for i, text in enumerate(texts):
        n = int(out["num_tokens"][i])
        tokens = [t.decode("utf-8") for t in out["tokens"][i, :n]]
        starts, ends = out["token_start"][i, :n].tolist(), out["token_end"][i, :n].tolist()
        attributions = out["attributions"][i, :n].astype("float32")
        segments = [0] * n
        words, w_start, w_end, w_segment, w_attr = words_of(tokens, segments, starts, ends, attributions,
                                                            SPECIAL_PIECES, (text, None))
        fx, fb = float(out["target_score"][i]), float(out["baseline_score"][i])
        label = None if regression else out["label"][i].decode("utf-8")
        result.append(Explanation(
            text=text, method="integrated_gradients", target="score" if regression else f'probability of "{label}"',
            tokens=tokens, token_segment=segments, token_start=starts, token_end=ends, attributions=attributions,
            words=words, word_start=w_start, word_end=w_end, word_segment=w_segment, word_attributions=w_attr,
            label=label, target_score=fx, baseline_score=fb,
            completeness_error=completeness_error(float(attributions.sum()), fx, fb),
            steps=metadata.get("explain_steps"),
            details={"label_id": int(out["label_id"][i]), "source": os.path.abspath(saved_model_dir)}))
    return result


def load_model_to_explain(path):
    """The task model of a `trainers.finetune` directory (its model.keras) or of a .keras file, loaded in
    safe mode; a FileNotFoundError naming what was looked for otherwise."""
    import keras

    file = path if path.endswith(".keras") else os.path.join(path, "model.keras")
    if not os.path.exists(file):
        raise FileNotFoundError(f"{file} does not exist: pass a trainers.finetune output directory (with its "
                                "model.keras) or a .keras file.")
    return keras.saving.load_model(file, safe_mode=True)


def write_explanations(explanations, output_dir, pictures=True):
    """Writes `explanations.json` (one record per explanation), `report.html` (self-contained) and, with
    `pictures`, one PNG per explanation (`explanation_<i>.png`: the text coloured by attribution; for attention
    and rollout also `attention_<i>.png` / `rollout_<i>.png`) into `output_dir`. Returns {kind: path(s)}."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {"json": os.path.join(output_dir, "explanations.json"), "html": os.path.join(output_dir, "report.html"),
             "png": []}
    records = [e.to_dict() for e in explanations]
    _write_atomic(paths["json"], json.dumps(records, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    html_report(explanations, paths["html"])
    if pictures:
        for i, e in enumerate(explanations):
            paths["png"].append(os.path.join(output_dir, f"explanation_{i}.png"))
            text_heatmap_png(e, paths["png"][-1])
            if e.attention is not None:
                paths["png"].append(os.path.join(output_dir, f"attention_{i}.png"))
                attention_grid_png(e, paths["png"][-1])
            if e.rollout is not None:
                paths["png"].append(os.path.join(output_dir, f"rollout_{i}.png"))
                rollout_png(e, paths["png"][-1])
    return paths
