"""absl-flag programs around the bert_keras library: the demo, fine-tuning, pretraining, vocab and pretraining-data
builders. Each only parses flags and files and calls the library."""
