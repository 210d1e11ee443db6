"""Live progress of a run in the terminal.

``rich`` mode redraws a table of steps (pending/running/cached/done/failed/skipped
with durations) in place; ``plain`` mode prints one line per event, for logs and
CI; ``off`` prints nothing. ``auto`` picks rich on a terminal and plain otherwise.
Orchestrators report events; the reporter is thread-safe.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Literal, TextIO

ProgressMode = Literal["auto", "rich", "plain", "off"]

_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "completed": "green",
    "cached": "blue",
    "failed": "bold red",
    "skipped": "yellow",
    "retrying": "magenta",
}
_LABEL = {"completed": "done"}
#: Above this many steps the live table shows only the interesting rows.
_MAX_ROWS = 25


class Progress:
    """Base reporter: keeps state, prints nothing."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: dict[str, str] = {}
        self.started: dict[str, float] = {}
        self.durations: dict[str, float] = {}
        self.run_id = ""
        self.t0 = time.perf_counter()

    def run_started(self, run_id: str, step_ids: list[str]) -> None:
        self.run_id = run_id
        self.state = dict.fromkeys(step_ids, "pending")
        self.t0 = time.perf_counter()

    def step(self, step_id: str, status: str, *, duration: float | None = None, detail: str = "") -> None:
        with self.lock:
            self.state[step_id] = status
            if status == "running":
                self.started[step_id] = time.perf_counter()
            elif duration is not None:
                self.durations[step_id] = duration
            elif step_id in self.started:
                self.durations[step_id] = time.perf_counter() - self.started[step_id]
        self._event(step_id, status, detail)

    def log(self, step_id: str, line: str) -> None:
        """A line a step printed."""

    def run_finished(self, status: str) -> None:
        self._finish(status, time.perf_counter() - self.t0)

    def _event(self, step_id: str, status: str, detail: str) -> None:
        pass

    def _finish(self, status: str, elapsed: float) -> None:
        pass

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.state.values():
            out[s] = out.get(s, 0) + 1
        return out


class PlainProgress(Progress):
    """One line per event, flushed, for pipes and CI logs."""

    def __init__(self, stream: TextIO | None = None, echo_logs: bool = True) -> None:
        super().__init__()
        self.stream = stream or sys.__stdout__ or sys.stdout
        self.echo_logs = echo_logs

    def _write(self, text: str) -> None:
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def run_started(self, run_id: str, step_ids: list[str]) -> None:
        super().run_started(run_id, step_ids)
        self._write(f"run {run_id}: {len(step_ids)} steps")

    def _event(self, step_id: str, status: str, detail: str) -> None:
        took = self.durations.get(step_id)
        extra = f" in {took:.2f}s" if took is not None and status not in ("running", "pending") else ""
        self._write(f"  {_LABEL.get(status, status):<9} {step_id}{extra}{' - ' + detail if detail else ''}")

    def log(self, step_id: str, line: str) -> None:
        if self.echo_logs:
            self._write(f"  [{step_id}] {line}")

    def _finish(self, status: str, elapsed: float) -> None:
        summary = ", ".join(f"{n} {_LABEL.get(s, s)}" for s, n in sorted(self.counts().items()))
        self._write(f"run {self.run_id} {status} in {elapsed:.2f}s ({summary})")


class RichProgress(Progress):
    """A live table, redrawn in place a few times a second."""

    def __init__(self, echo_logs: bool = True) -> None:
        super().__init__()
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=sys.__stdout__)
        self.echo_logs = echo_logs
        self.live = Live(
            console=self.console, refresh_per_second=8, transient=False, get_renderable=self._render
        )

    def run_started(self, run_id: str, step_ids: list[str]) -> None:
        super().run_started(run_id, step_ids)
        self.live.start()

    def log(self, step_id: str, line: str) -> None:
        if self.echo_logs:
            self.live.console.print(f"[dim]\\[{step_id}][/dim] {line}", markup=True, highlight=False)

    def _render(self) -> Any:
        from rich.table import Table

        with self.lock:
            items = list(self.state.items())
            now = time.perf_counter()
            if len(items) > _MAX_ROWS:
                interesting = [i for i in items if i[1] in ("running", "failed", "retrying")]
                items = interesting[:_MAX_ROWS]
            table = Table(title=f"run {self.run_id}", title_justify="left", expand=False)
            table.add_column("step")
            table.add_column("status")
            table.add_column("time", justify="right")
            for sid, status in items:
                took = self.durations.get(sid)
                if status == "running" and sid in self.started:
                    took = now - self.started[sid]
                table.add_row(
                    sid,
                    f"[{_STYLE.get(status, '')}]{_LABEL.get(status, status)}",
                    f"{took:.2f}s" if took is not None else "",
                )
            counts = ", ".join(f"{n} {_LABEL.get(s, s)}" for s, n in sorted(self.counts().items()))
            table.caption = f"{counts} - {now - self.t0:.1f}s"
            table.caption_justify = "left"
        return table

    def _finish(self, status: str, elapsed: float) -> None:
        self.live.stop()
        style = "green" if status == "completed" else "bold red"
        self.console.print(f"[{style}]run {self.run_id} {status}[/] in {elapsed:.2f}s")


def make_progress(mode: ProgressMode = "auto", *, echo_logs: bool = True) -> Progress:
    if mode == "auto":
        out = sys.__stdout__
        mode = "rich" if out is not None and out.isatty() else "plain"
    if mode == "rich":
        return RichProgress(echo_logs=echo_logs)
    if mode == "plain":
        return PlainProgress(echo_logs=echo_logs)
    return Progress()
