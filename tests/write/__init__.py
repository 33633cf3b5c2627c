"""Tests of the write side (dual_log/_write/): queue, rotation, processes, one write."""
