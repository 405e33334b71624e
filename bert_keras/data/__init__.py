"""Data: readers for the real corpora shipped in PyPI packages (task readers come with fine-tuning)."""
