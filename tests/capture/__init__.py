"""Tests of ``dual-log capture`` against a real nats-server."""
