"""Reading a log file and its rotated (and gzipped) siblings back, record by record."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def files(path: Path) -> list[Path]:
    """The live file and every rotated sibling (``app.log.1``, ``app.log.2.gz``, ...)."""
    folder = path.parent
    found = [
        p for p in folder.iterdir() if p.name == path.name or p.name.startswith(path.name + ".")
    ]
    return sorted(p for p in found if ".rotate." not in p.name)


def read_lines(path: Path) -> list[str]:
    """Every line of the file and its rotated siblings, gzipped ones decompressed."""
    lines: list[str] = []
    for file in files(path):
        data = (
            gzip.decompress(file.read_bytes()) if file.name.endswith(".gz") else file.read_bytes()
        )
        lines.extend(data.decode("utf-8").splitlines())
    return lines


def read_records(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON records across all files, and the lines that are not valid JSON objects (torn)."""
    records: list[dict[str, Any]] = []
    torn: list[str] = []
    for line in read_lines(path):
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            torn.append(line)
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            torn.append(line)
    return records, torn
