"""Fields bound to the work going on (a request, a job, a tenant), for every record inside it.

``bind(user_id=7)`` adds fields to every record logged afterwards in the same context;
``with context(job="nightly"):`` (or ``@context(job="nightly")`` on a function) adds them
for a block and takes them off after it, nested blocks merging. The fields live in a
``contextvars.ContextVar``, so each thread and each asyncio task sees its own, and a task
started inside a block carries the block's fields. Both formatters read them when they
format a record, in the thread that logs it (dual_log formats there, whichever write mode):
they reach library records too (``django.request``, a database driver's), as JSON fields
in the file and ``key=value`` on stdout. An ``extra`` of the same name wins over a bound
field for its own record.

Trace ids: when OpenTelemetry's API is in use (``opentelemetry.trace`` imported by the
application) and a span is recording, ``current()`` adds the span's ``trace_id`` and
``span_id`` (hex, as OpenTelemetry's exporters write them) to the bound fields, so each
record can be found in the tracing backend and the trace's records in the files. A field
bound under either name wins. OpenTelemetry is looked for in ``sys.modules``, never
imported: an application without it pays nothing and loads nothing.

Reading them when nothing is bound and OpenTelemetry is absent is one ``ContextVar.get()``
and one dict lookup.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

_EMPTY: Mapping[str, Any] = MappingProxyType({})
# Never changed in place: each bind makes a new mapping, so a context that copied the old
# one (a thread pool's, a task's) keeps what it saw.
_fields: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "dual_log_fields", default=_EMPTY
)
# What a LogRecord already has: a field of that name would not be a field of its own.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}

F = TypeVar("F", bound="Callable[..., Any]")


# OpenTelemetry's API module, looked up in this dict on every call of current(): once the
# application imports it, the next record carries the ids.
_MODULES = sys.modules
_TRACE_API = "opentelemetry.trace"


def current() -> Mapping[str, Any]:
    """The fields bound now, in this thread or task, with the recording span's ``trace_id``
    and ``span_id`` when OpenTelemetry is in use (empty when none): do not change it."""
    fields = _fields.get()
    if _TRACE_API not in _MODULES:
        return fields
    return _with_trace(fields)


def _with_trace(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """``fields`` after the ids of the span recording now, if there is one."""
    try:
        span = _MODULES[_TRACE_API].get_current_span()
        if not span.is_recording():
            return fields
        ids = span.get_span_context()
        trace = {"trace_id": f"{ids.trace_id:032x}", "span_id": f"{ids.span_id:016x}"}
    except Exception:  # a module half imported (by another thread), or a tracer that fails
        return fields
    trace.update(fields)
    return trace


def bind(**fields: Any) -> None:
    """Add ``fields`` to every record logged from now on in this context.

    Raises:
        ValueError: a name that is an attribute of every ``LogRecord`` (``name``, ``msg``,
            ``levelname``, ...), which ``extra`` refuses too.
    """
    _check(fields)
    _fields.set(MappingProxyType({**_fields.get(), **fields}))


def unbind(*names: str) -> None:
    """Take the fields ``names`` off (those not bound are ignored)."""
    bound = _fields.get()
    if any(name in bound for name in names):
        _fields.set(MappingProxyType({k: v for k, v in bound.items() if k not in names}))


class context:  # used like a function: with dual_log.context(...)
    """Fields for every record logged inside a block, or inside each call of a function.

    ``with dual_log.context(request_id="4f2a", user="ann"):`` or, on a function (plain or
    ``async``), ``@dual_log.context(job="nightly")``. Inside, the fields are merged with
    those bound around it (the inner value wins); after it, they are as they were.

    Raises:
        ValueError: a name ``extra`` refuses too (see ``bind``).
    """

    def __init__(self, **fields: Any) -> None:
        _check(fields)
        self.fields = fields
        self._tokens: list[contextvars.Token[Mapping[str, Any]]] = []

    def __enter__(self) -> Mapping[str, Any]:
        merged = MappingProxyType({**_fields.get(), **self.fields})
        self._tokens.append(_fields.set(merged))
        return merged

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _fields.reset(self._tokens.pop())

    def __call__(self, function: F) -> F:
        """Bind the fields around each call of ``function`` (a coroutine function too)."""
        import inspect  # here: only for a decorated function, and it is a heavy import

        fields = self.fields
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with context(**fields):
                    return await function(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with context(**fields):  # a new one per call: calls may overlap in threads
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"dual_log.context({', '.join(f'{k}={v!r}' for k, v in self.fields.items())})"


def _check(fields: Mapping[str, Any]) -> None:
    taken = sorted(set(fields) & _RECORD_ATTRIBUTES)
    if taken:
        raise ValueError(
            f"dual_log: invalid field name(s) {', '.join(taken)}: every LogRecord has an "
            "attribute of that name; allowed: any other name (e.g. request_id, user_id)"
        )
