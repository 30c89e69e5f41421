"""The plain-file store: where records live (layout), atomic writes, reading, the index."""
