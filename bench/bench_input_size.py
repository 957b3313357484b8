"""Memory and time of `archdsl check` against the size of its input (issue 16, item 11).

Each input class fills one network body (or one literal) with N MB of the same thing, then
`archdsl check` runs it as a subprocess; its peak resident memory (ru_maxrss from wait4) is
compared with that of `archdsl check` on a three-line network measured side by side, and the
difference is divided by the input's size in MB. The classes are the attack's (newlines,
semicolons, a string literal) and the worst cases of the lexer (one-character comments,
escapes) and of the parser (tokens up to the limit).

Run: python bench/bench_input_size.py [MB ...]   (default 1 4 16 60; prints a table)
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 10 ** 6
HEAD = "network m {\n  input [3, 8, 8]\n"
TAIL = "\n  relu\n}\n"
TINY = HEAD + "  conv(4, k=3, p=1); relu; gap; flatten; fc(2)" + TAIL


PIECES = {  # kind -> (text before, unit repeated, text after)
    "newlines": (HEAD, "\n", TAIL),
    "semicolons": (HEAD, ";", TAIL),
    "comments #\\n": (HEAD, "#\n", TAIL),
    "comment lines (80 chars)": (HEAD, "# " + "c" * 77 + "\n", TAIL),
    "string literal": (HEAD + '  let s = "', "a", '"' + TAIL),
    "string of escapes": (HEAD + '  let s = "', "\\n", '"' + TAIL),
    "tokens: relu;": (HEAD + "  ", "relu; ", TAIL),
}


def write(path: Path, kind: str, size: int) -> None:
    """The input, written in pieces: this process must stay small, since a child's peak RSS
    counts the pages it shares with its parent before exec."""
    before, unit, after = PIECES[kind]
    chunk = unit * (2 ** 20 // len(unit))
    with open(path, "w") as f:
        f.write(before)
        left = size // len(unit)
        while left > 0:
            n = min(left, len(chunk) // len(unit))
            f.write(chunk[:n * len(unit)])
            left -= n
        f.write(after)


def run(path: Path) -> tuple:
    """(exit code, peak RSS in MB, seconds) of `archdsl check PATH`."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "archdsl", "check", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.read()
    proc.stderr.close()
    return proc.returncode, usage.ru_maxrss / 1024, time.perf_counter() - t


def main():
    sizes = [float(a) for a in sys.argv[1:]] or [1, 4, 16, 60]
    kinds = tuple(PIECES)
    with tempfile.TemporaryDirectory() as d:
        tiny = Path(d) / "tiny.arch"
        tiny.write_text(TINY)
        run(tiny)  # warm the page cache and Lark's parser cache
        print(f"{'input':26} {'MB':>5} {'exit':>4} {'peak MB':>8} {'baseline':>8} "
              f"{'extra MB per MB':>15} {'time s':>7}")
        for kind in kinds:
            for size in sizes:
                path = Path(d) / "big.arch"
                write(path, kind, int(size * MB))
                code, peak, seconds = run(path)
                _, base, _ = run(tiny)  # side by side: the same machine state
                print(f"{kind:26} {size:5g} {code:4d} {peak:8.0f} {base:8.0f} "
                      f"{(peak - base) / size:15.1f} {seconds:7.1f}")
                path.unlink()


if __name__ == "__main__":
    main()
