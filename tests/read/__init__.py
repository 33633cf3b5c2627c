"""Tests of the read side (dual_log/_read/): scanning and merging the files."""
