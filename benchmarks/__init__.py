"""dual_log's benchmarks: per-call cost, multi-process throughput, end-to-end requests.

Run them all with ``python -m benchmarks`` from the repository root (see
docs/PERFORMANCE.md); ``python -m benchmarks --help`` lists the options. They are kept
out of the test run; tests/test_benchmarks_smoke.py runs ``--quick`` so they cannot rot.
"""
