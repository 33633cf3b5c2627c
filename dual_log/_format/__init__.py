"""The format side: text and JSON lines, read off a record without changing it, and
redaction. Used by both handlers; knows nothing of files."""
