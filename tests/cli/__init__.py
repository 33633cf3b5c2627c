"""Tests of the `dual-log` commands (dual_log/cli/): cat, tail, doctor, fetch, their help."""
