"""The parts of ``dual-log capture``; ``dual_log.capture`` is their public face.

Only ``_subscriber`` imports nats-py; the other modules (options, the mapping of the
platform's messages to lines, the files, the health endpoint) are plain Python.
"""
