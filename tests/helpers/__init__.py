"""Helpers shared by the tests: reading back what dual_log wrote."""
