"""Tests of the write side (dual_log/_write/): the queue, rotation, processes, faults of one write."""
