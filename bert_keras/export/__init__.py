"""The export library: string-in SavedModels for TF Serving, TFLite conversion and its interpreter, parity checks,
Serving request builders and the TF1 session loader's predict. `python -m export.<name>` are their command lines."""
