"""Trace ids: the recording OpenTelemetry span's trace_id and span_id on both sinks.

Spans come from the real OpenTelemetry SDK, exported to its in-memory exporter, so the
ids in the log records are compared with those of the spans it finished.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import dual_log
from tests.helpers.logfiles import read_records

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """An in-memory exporter of finished spans."""
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> trace.Tracer:
    """A tracer of the SDK whose spans are recorded and exported to ``exporter``.

    Its own provider, not the global one (which can be set once per process).
    """
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("tests.trace_ids")


@pytest.fixture
def sinks(log_path: Path) -> Iterator[dual_log.DualLog]:
    """Both sinks on the root logger, the file written at each call."""
    dual = dual_log.setup(path=str(log_path), queue=False, handle_signals=False)
    yield dual
    dual.close()


def _records(log_path: Path) -> dict[str, dict[str, Any]]:
    records, torn = read_records(log_path)
    assert torn == []
    return {record["message"]: record for record in records}


def _hex(exporter: InMemorySpanExporter) -> dict[str, tuple[str, str]]:
    """The finished spans' (trace id, span id) in hex, by span name."""
    ids = {}
    for span in exporter.get_finished_spans():
        context = span.get_span_context()
        assert context is not None
        ids[span.name] = (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    return ids


def test_records_in_a_recording_span_carry_its_ids_on_both_sinks(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path,
    tracer: trace.Tracer, exporter: InMemorySpanExporter, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """trace_id and span_id (32 and 16 hex digits) are the exported span's, in the file and on
    stdout; a child span has its own span_id and the same trace_id; outside, none."""
    logger.info("before")
    with tracer.start_as_current_span("checkout"):
        logger.info("in checkout")
        with tracer.start_as_current_span("charge"):
            logger.warning("in charge")
    logger.info("after")
    spans = _hex(exporter)
    records = _records(log_path)
    assert (records["in checkout"]["trace_id"], records["in checkout"]["span_id"]) == (
        spans["checkout"]
    )
    assert (records["in charge"]["trace_id"], records["in charge"]["span_id"]) == spans["charge"]
    assert spans["charge"][0] == spans["checkout"][0]
    assert spans["charge"][1] != spans["checkout"][1]
    for message in ("before", "after"):
        assert {"trace_id", "span_id"}.isdisjoint(records[message])
    trace_id, span_id = spans["charge"]
    assert len(trace_id) == 32
    assert len(span_id) == 16
    out = capsys.readouterr().out
    assert f" in charge trace_id={trace_id} span_id={span_id}\n" in out
    assert out.count("trace_id=") == 2


def test_bound_fields_and_trace_ids_together_and_a_bound_trace_id_wins(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path,
    tracer: trace.Tracer, exporter: InMemorySpanExporter,
) -> None:  # fmt: skip
    """Bound fields sit beside the span's ids; a field bound as trace_id is kept as bound."""
    with tracer.start_as_current_span("job"), dual_log.context(job="nightly"):
        logger.info("both")
        with dual_log.context(trace_id="from-upstream"):
            logger.info("bound trace id")
    trace_id, span_id = _hex(exporter)["job"]
    records = _records(log_path)
    assert records["both"]["job"] == "nightly"
    assert (records["both"]["trace_id"], records["both"]["span_id"]) == (trace_id, span_id)
    assert records["bound trace id"]["trace_id"] == "from-upstream"
    assert records["bound trace id"]["span_id"] == span_id


def test_a_span_that_is_not_recording_adds_nothing(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path
) -> None:
    """A span sampled out (not recording) gives no ids."""
    provider = TracerProvider(sampler=ALWAYS_OFF)
    with provider.get_tracer("tests.off").start_as_current_span("dropped") as span:
        assert not span.is_recording()
        logger.info("sampled out")
    assert {"trace_id", "span_id"}.isdisjoint(_records(log_path)["sampled out"])


def test_each_thread_logs_its_own_span(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path,
    tracer: trace.Tracer, exporter: InMemorySpanExporter,
) -> None:  # fmt: skip
    """Spans of concurrent threads never mix: each record has its own thread's span ids."""
    barrier = threading.Barrier(4)

    def work(number: int) -> None:
        with tracer.start_as_current_span(f"t{number}"):
            barrier.wait()
            for step in range(10):
                logger.info("t%d-%d", number, step)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    spans = _hex(exporter)
    records = _records(log_path)
    assert len(records) == 40
    for message, record in records.items():
        assert (record["trace_id"], record["span_id"]) == spans[message.split("-")[0]]


def test_without_opentelemetry_imported_nothing_is_imported(python: str, log_path: Path) -> None:
    """OpenTelemetry installed but not imported by the app: dual_log loads none of it, adds no
    ids; once the app imports it, the next record in a span carries them."""
    code = f"""
import logging, sys
import dual_log
dual_log.setup(path={str(log_path)!r}, stdout=False, queue=False, handle_signals=False)
with dual_log.context(job="j"):
    logging.getLogger("app").info("no tracing")
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
from opentelemetry.sdk.trace import TracerProvider
with TracerProvider().get_tracer("t").start_as_current_span("s"):
    logging.getLogger("app").info("tracing")
"""
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    records = _records(log_path)
    assert records["no tracing"]["job"] == "j"
    assert {"trace_id", "span_id"}.isdisjoint(records["no tracing"])
    assert len(records["tracing"]["trace_id"]) == 32
