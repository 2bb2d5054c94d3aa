"""ExampleValidator: TFX's, validating each split in the schema environment it belongs to."""
