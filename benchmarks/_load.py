"""A small HTTP load generator, for machines without ``wrk``: threads, one connection each.

    python -m benchmarks._load URL SECONDS THREADS

Prints one JSON object: requests completed, non-2xx answers, errors and seconds. Each
thread opens a new connection when the server closes one (gunicorn's sync workers close
after every response).
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import urllib.parse


def load(url: str, seconds: float, threads: int) -> dict[str, float]:
    """Send GET requests to ``url`` from ``threads`` threads for ``seconds``."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    target = parts.path + ("?" + parts.query if parts.query else "")
    counts = {"requests": 0, "non_2xx": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        done = bad = errors = 0
        conn: http.client.HTTPConnection | None = None
        while time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, parts.port, timeout=10)
                conn.request("GET", target)
                response = conn.getresponse()
                response.read()
                done += 1
                bad += not 200 <= response.status < 300
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            counts["requests"] += done
            counts["non_2xx"] += bad
            counts["errors"] += errors

    start = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {**counts, "seconds": time.monotonic() - start}


if __name__ == "__main__":
    url, seconds, threads = sys.argv[1:4]
    print(json.dumps(load(url, float(seconds), int(threads))))
