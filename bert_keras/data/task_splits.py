"""`TaskSplits`: a fine-tuning task's train / eval / test examples, from a bundled dataset or from files.

What `trainers.finetune` reads and checks before it trains, as a library object a Python user reaches too: the
reader per task (GLUE-style TSV/CSV for classify and regress, CoNLL/BIO for tag, SQuAD JSON for qa, through the
readers of `bert_keras.data`, which name file and line on bad input), the bundled real datasets with their
seeded splits, the label names of the training split, the check that evaluation labels are among them (named by
file and line), and the `(x, y)` each task model's `fit` / `task_metrics` takes.
"""

from bert_keras.data import real_datasets

TASKS = ("classify", "regress", "tag", "qa")
SQUAD_FIXTURE = "squad_fixture"  # the one real SQuAD v1.1 paragraph in allennlp's test fixtures (format proof)


def _columns(split):
    """Classification data as {"texts", "texts_b", "labels", "lines", "path"}, whatever its source."""
    if isinstance(split, dict):
        return split
    return {"texts": [t for t, _ in split], "texts_b": None, "labels": [label for _, label in split],
            "lines": list(range(1, len(split) + 1)), "path": "(dataset)"}


def _file_reader(task):
    if task in ("classify", "regress"):
        from bert_keras.data.text_classification_file import read_text_classification_file

        def read(path):
            texts, texts_b, labels, lines = read_text_classification_file(path, regression=task == "regress")
            return {"texts": texts, "texts_b": texts_b, "labels": labels, "lines": lines, "path": path}
        return read
    if task == "tag":
        from bert_keras.data.conll import read_conll

        return read_conll
    from bert_keras.data.squad import read_squad

    return lambda path: read_squad(path)[0]


class TaskSplits:
    """The examples of one task: `train`, `eval` (selects the best epoch, gives the metrics) and `test` (or None).

    Classify / regress splits are column dicts (`texts`, `texts_b`, `labels`, `lines`, `path`); tag splits lists
    of (words, tags); qa splits lists of `SquadExample`.

    Example:
    >>> splits = TaskSplits.from_dataset("rotten_tomatoes").limited(100, 20)
    >>> splits.task, splits.size("train"), splits.size("eval"), splits.label_names()
    ('classify', 100, 20, ['fresh', 'rotten'])
    >>> texts, labels = splits.fit_inputs("eval")
    >>> len(texts) == len(labels) == 20
    True
    """

    def __init__(self, task, train, eval, test=None, paths=None):
        if task not in TASKS:
            raise ValueError(f"Unknown task {task!r}; use one of {TASKS}.")
        self.task, self.train, self.eval, self.test = task, train, eval, test
        self.paths = dict(paths or {})  # split name -> the file it was read from, for errors that name the line

    @classmethod
    def from_dataset(cls, name, seed=0):
        """A bundled real dataset (`bert_keras.data.real_datasets.DATASETS`, or "squad_fixture") split with `seed`."""
        if name == SQUAD_FIXTURE:
            from bert_keras.data.real_corpora import package_file
            from bert_keras.data.squad import read_squad

            examples, _ = read_squad(package_file("allennlp", "tests", "fixtures", "data", "squad.json"))
            return cls("qa", examples, examples)
        if name not in real_datasets.DATASETS:
            raise ValueError(f"Unknown dataset {name!r}; use one of {sorted(real_datasets.DATASETS) + [SQUAD_FIXTURE]}.")
        task, loader = real_datasets.DATASETS[name]
        splits = loader(seed=seed)
        return cls(task, splits["train"], splits["dev"], splits["test"])

    @classmethod
    def from_files(cls, task, train_file, eval_file, test_file=None):
        """Reads the task's files; `eval_file` is required (the best epoch and the reported metrics come from it)."""
        if task not in TASKS:
            raise ValueError(f"Unknown task {task!r}; use one of {TASKS}.")
        if not train_file:
            raise ValueError("A training file is required (--train_file).")
        if not eval_file:
            raise ValueError("An evaluation file is required (--eval_file): the best epoch and the reported metrics "
                             "come from it.")
        read = _file_reader(task)
        return cls(task, read(train_file), read(eval_file), read(test_file) if test_file else None,
                   paths={"train": train_file, "eval": eval_file, "test": test_file})

    def limited(self, max_train=0, max_eval=0):
        """At most `max_train` training and `max_eval` eval and test examples (0: all), checked non-empty."""
        for name, n in (("max_train", max_train), ("max_eval", max_eval)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"{name} must be an int >= 0 (0: all examples), got {n!r}.")

        def limit(split, n):
            if not n or split is None:
                return split
            if isinstance(split, dict):
                return {k: (v[:n] if isinstance(v, list) else v) for k, v in split.items()}
            return split[:n]

        out = TaskSplits(self.task, limit(self.train, max_train), limit(self.eval, max_eval),
                         limit(self.test, max_eval), paths=self.paths)
        for name in ("train", "eval"):
            if not out.size(name):
                raise ValueError(f"The {name} split is empty.")
        return out

    def size(self, name):
        """Examples in split `name` ("train", "eval", "test"); 0 for a missing split."""
        split = getattr(self, name)
        if split is None:
            return 0
        return len(_columns(split)["texts"]) if self.task in ("classify", "regress") else len(split)

    def label_names(self):
        """Classify: the training labels, sorted; tag: the BIO tag set of the training data; else None."""
        if self.task == "classify":
            labels = sorted(set(_columns(self.train)["labels"]))
            if len(labels) < 2:
                raise ValueError(f"Classification needs at least 2 labels in the training data, found {labels}.")
            return labels
        if self.task == "tag":
            from bert_keras.text.word_features import bio_tag_set

            return bio_tag_set(self.train)
        return None

    def check_labels(self, labels):
        """Raises a `ValueError` naming file and line (classify) or sentence (tag) for an eval or test label
        outside `labels`, the training labels."""
        for name in ("eval", "test"):
            split = getattr(self, name)
            if not split:
                continue
            if self.task == "classify":
                cols = _columns(split)
                known = set(labels)
                for label, line in zip(cols["labels"], cols["lines"]):
                    if label not in known:
                        raise ValueError(f"{cols['path']}:{line}: label {label!r} is not among the training labels "
                                         f"{labels} ({name} split); fix the label or add examples of it to training.")
            if self.task == "tag":
                known = set(labels)
                for n, (_, tags) in enumerate(split, start=1):
                    bad = set(tags) - known
                    if bad:
                        path = self.paths.get(name)
                        where = f"{path}:{_line_of_sentence(path, n)}" if path else f"{name} split"
                        raise ValueError(f"{where}: {name} sentence {n} has tag(s) {sorted(bad)}, whose entity types "
                                         f"never occur in training; fix them or add training examples of those "
                                         f"types (known tags: {labels}).")

    def fit_inputs(self, name):
        """(x, y) of split `name` as the task model's `fit` / `task_metrics` take them: texts or (texts, texts_b)
        and labels; word lists and tag lists; SquadExamples (they carry their answers) and None."""
        split = getattr(self, name)
        if self.task in ("classify", "regress"):
            cols = _columns(split)
            x = cols["texts"] if cols["texts_b"] is None else (cols["texts"], cols["texts_b"])
            return x, cols["labels"]
        if self.task == "tag":
            return [words for words, _ in split], [tags for _, tags in split]
        return list(split), None


def _line_of_sentence(path, n):
    """The line where sentence `n` (from 1, as `read_conll` counts them) of a CoNLL file starts."""
    from bert_keras.data.utf8_file import read_utf8

    count, in_sentence = 0, False
    for line_no, line in enumerate(read_utf8(path).split("\n"), start=1):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            in_sentence = in_sentence and bool(fields)
            continue
        if not in_sentence:
            count, in_sentence = count + 1, True
            if count == n:
                return line_no
    return "?"
