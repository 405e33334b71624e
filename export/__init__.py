"""Export of trained models: string-in SavedModels for TF Serving (`saved_model`), TFLite with the tokenizer inside
(`tflite`), parity reports (`verify`), Serving API clients (`client`, `predict`)."""
