"""absl-flag programs around the bert_keras library: the demo now; fine-tuning and pretraining later."""
