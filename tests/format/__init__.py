"""Tests of the formatters (dual_log/_format/): text, JSON, hostile input, redaction, the clock."""
