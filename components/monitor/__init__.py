"""Monitor: data, prediction and attribution drift of a new span against a model's training, with alerts."""
