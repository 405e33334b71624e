"""Export of trained models: SavedModels for TF Serving, TFLite (coming with the export issue)."""
