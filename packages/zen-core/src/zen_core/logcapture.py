"""Per-step capture of stdout, stderr and ``logging``, safe with steps in threads.

``sys.stdout``/``sys.stderr`` are replaced once by routers that send each write
to the capture of the *current thread* if it has one, and to the real stream
otherwise; a root logging handler does the same for log records. So several steps
running in threads of one process each get exactly their own output.
Threads a step starts itself are not followed (their output goes to the terminal).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

_local = threading.local()
_install_lock = threading.Lock()
_installed = False

LineCallback = Callable[[str], None]


class StepLog:
    """The captured text of one step, optionally echoed line by line."""

    def __init__(self, echo: LineCallback | None = None) -> None:
        self._buf = io.StringIO()
        self._pending = ""
        self._echo = echo
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            self._buf.write(text)
            if self._echo is None:
                return
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
        self._echo_lines(lines)

    def _echo_lines(self, lines: list[str]) -> None:
        # Echo outside the capture: an echo that prints to sys.stdout must reach the
        # terminal, not come back here (which would recurse forever).
        assert self._echo is not None
        previous = getattr(_local, "log", None)
        _local.log = None
        try:
            for line in lines:
                self._echo(line)
        finally:
            _local.log = previous

    def text(self) -> str:
        with self._lock:
            pending, self._pending = self._pending, ""
            text = self._buf.getvalue()
        if pending and self._echo is not None:
            self._echo_lines([pending])
        return text


class _Router(io.TextIOBase):
    def __init__(self, real: TextIO, label: str) -> None:
        self.real = real
        self.label = label

    def write(self, s: str) -> int:
        log: StepLog | None = getattr(_local, "log", None)
        if log is None:
            return self.real.write(s)
        log.write(s)
        return len(s)

    def flush(self) -> None:
        if getattr(_local, "log", None) is None:
            self.real.flush()

    def isatty(self) -> bool:
        return getattr(_local, "log", None) is None and self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class _RoutingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log: StepLog | None = getattr(_local, "log", None)
        if log is not None:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            log.write(f"{stamp} {record.levelname} {record.name}: {record.getMessage()}\n")
            if record.exc_info:
                log.write(logging.Formatter().formatException(record.exc_info) + "\n")
        elif record.levelno >= logging.WARNING and logging.getLogger().handlers == [self]:
            # stand in for logging.lastResort, which our handler's presence disables
            sys.stderr.write(f"{record.levelname}: {record.name}: {record.getMessage()}\n")


def _install() -> None:
    global _installed
    with _install_lock:
        # re-checked every time: test runners and notebooks swap sys.stdout under us
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr, "stderr")
        if _installed:
            return
        root = logging.getLogger()
        root.addHandler(_RoutingHandler(level=logging.DEBUG))
        if root.level > logging.INFO or root.level == logging.NOTSET:
            # step code's logger.info() is captured without the user configuring logging
            root.setLevel(logging.INFO)
        _installed = True


@contextlib.contextmanager
def capture(echo: LineCallback | None = None) -> Iterator[StepLog]:
    """Capture this thread's output into a :class:`StepLog` for the block's duration."""
    _install()
    log = StepLog(echo)
    previous = getattr(_local, "log", None)
    _local.log = log
    try:
        yield log
    finally:
        _local.log = previous
