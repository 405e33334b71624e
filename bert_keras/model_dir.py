"""`read_model_dir`: the one reader of the model directory that `trainers.finetune` and `trainers.distill` write
(`model.keras`, `label_map.json` with the task, labels and seq_length, the tokenizer files), for the programs that
take one (`export.saved_model`, `trainers.distill`'s teacher). Plain JSON through `bert_keras.data.utf8_file`,
so a damaged file is named with its line."""

import os

TASKS = ("classify", "regress", "tag", "qa")


def read_model_dir(model_dir, tasks=TASKS, flag="--model_dir", purpose="this program"):
    """The `label_map.json` of a fine-tuned model directory, checked.

    Args:
        model_dir: the directory.
        tasks: the tasks the caller takes.
        flag, purpose: how errors name the directory's flag and the caller.

    Raises:
        FileNotFoundError: no model.keras / label_map.json there.
        ValueError: label_map.json is not valid JSON (file and line named), its task is not in `tasks`, or it
            has no seq_length.

    Example:
    >>> read_model_dir("/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: --model_dir '/nonexistent' is not a fine-tuned model directory (model.keras and label_map.json): pass the --model_dir of a trainers.finetune run.
    """
    from bert_keras.data.utf8_file import read_json

    label_map = os.path.join(model_dir or "", "label_map.json")
    if not model_dir or not os.path.exists(label_map) or not os.path.exists(os.path.join(model_dir, "model.keras")):
        raise FileNotFoundError(f"{flag} {model_dir!r} is not a fine-tuned model directory (model.keras and "
                                "label_map.json): pass the --model_dir of a trainers.finetune run.")
    info = read_json(label_map, fix="rerun trainers.finetune into a new --model_dir to rewrite it")
    task = info.get("task") if isinstance(info, dict) else None
    if task not in tasks:
        known = "" if task in TASKS else "unknown "
        raise ValueError(f"{label_map}: {known}task {task!r}; {purpose} takes {', '.join(tasks)}.")
    if "seq_length" not in info:
        raise ValueError(f"{label_map}: no 'seq_length' (trainers.finetune writes it); add the seq_length the model "
                         "was trained with, or rerun trainers.finetune.")
    return info
