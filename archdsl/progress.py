"""Progress of the long commands (compile, render, zoo) as a rich bar on standard error: shown
only when standard error is a terminal and the work outlasts DELAY seconds, cleared when it
ends, so pipes, files and quick runs see nothing. rich is imported when a bar is first shown,
never before (the analysis commands' start-up time). ARCHDSL_PROGRESS_DELAY=S sets the delay
(0: at once; "never": no bar)."""
from __future__ import annotations

import os
import sys
import threading

DELAY = 0.5  # seconds of work before a bar appears


def _delay() -> float | None:
    text = os.environ.get("ARCHDSL_PROGRESS_DELAY", "").strip()
    if not text:
        return DELAY
    if text == "never":
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        return DELAY


class Progress:
    """`with Progress("compile resnet50") as p: p.stage("building", total=n); p.advance()`.

    A stage without a total shows a pulsing bar and the elapsed time (a graphviz layout, one
    forward pass); with one, a bar that fills and the count."""

    def __init__(self, title: str, stream=None, delay: float | None = None):
        self.stream = sys.stderr if stream is None else stream
        self.title, self.delay = title, _delay() if delay is None else delay
        self.enabled = self.delay is not None and _is_terminal(self.stream)
        self._lock = threading.Lock()
        self._stage, self._total, self._done = "", None, 0
        self._bar = self._task = self._timer = None
        self._closed = False

    def __enter__(self):
        if self.enabled:
            self._timer = threading.Timer(self.delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Clear the bar (if shown) and show none after: before a command prints its result."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._bar is not None:
                self._bar.stop()
                self._bar = None

    def stage(self, description: str, total=None) -> None:
        with self._lock:
            self._stage, self._total, self._done = description, total, 0
            if self._bar is not None:
                self._bar.reset(self._task, total=total, description=self._label())

    def advance(self, n: int = 1) -> None:
        self._done += n
        bar = self._bar
        if bar is not None:
            bar.update(self._task, completed=self._done)

    def write(self, text: str) -> None:
        """Write `text` to the stream, above the bar if one is shown."""
        with self._lock:
            if self._bar is not None:
                self._bar.console.print(text, end="", markup=False, highlight=False,
                                        soft_wrap=True)
            else:
                self.stream.write(text)

    def _label(self) -> str:
        return f"{self.title}: {self._stage}" if self._stage else self.title

    def _show(self) -> None:
        with self._lock:
            if self._closed:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bar
            bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=Console(file=self.stream), transient=True,
                      redirect_stdout=False, redirect_stderr=False)
            self._task = bar.add_task(self._label(), total=self._total, completed=self._done)
            self._bar = bar  # after its task: advance() reads both without the lock
            bar.start()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
