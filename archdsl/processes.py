"""Child processes that do not outlive archdsl, and termination signals that unwind like Ctrl-C.

`run` starts a helper program (graphviz's `dot`) and waits for it. On Linux the child asks the
kernel to kill it when archdsl dies (PR_SET_PDEATHSIG), so even SIGKILL of archdsl takes it
along; everywhere, an exception while waiting (Ctrl-C, SIGTERM, SIGHUP) kills it before the
exception goes on.

`signals_interrupt()` (cli.main runs every command inside it) turns SIGTERM and SIGHUP into
`Terminated`, a KeyboardInterrupt: what Ctrl-C unwinds (temporary files removed, children
killed, a search's finished trials kept) is unwound for them too. A second such signal during
the unwinding kills at once. SIGKILL cannot be caught: see files.py for what it leaves.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; unwinds like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with(parent: int, prctl):
    """Runs in the child between fork and exec."""
    def setup():
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)
    return setup


def run(argv: list, input: bytes) -> subprocess.CompletedProcess:
    """`subprocess.run(argv, input=input, capture_output=True)`, the child bound to archdsl."""
    prctl = _prctl()
    extra = {"preexec_fn": _die_with(os.getpid(), prctl)} if prctl is not None else {}
    # subprocess.run kills the child when waiting is interrupted by an exception.
    return subprocess.run(argv, input=input, capture_output=True, **extra)


@contextlib.contextmanager
def signals_interrupt(signals=("SIGTERM", "SIGHUP")):
    """SIGTERM and SIGHUP raise Terminated while the block runs (main thread only: signal
    handlers cannot be set elsewhere); the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    nums = [getattr(signal, name) for name in signals if hasattr(signal, name)]

    def handler(signum, frame):
        for n in nums:  # a second signal while unwinding is not caught
            signal.signal(n, signal.SIG_DFL)
        raise Terminated(signum)
    previous = {}
    try:
        for n in nums:
            previous[n] = signal.signal(n, handler)
        yield
    finally:
        for n, old in previous.items():
            if old is not None:  # None: a handler set outside Python, which cannot be restored
                signal.signal(n, old)
