"""How fast the language server keeps up with typing: after an edit of ResNet-152's file, the
time until its diagnostics are ready (the file parsed again and every network elaborated,
as `Workspace.analyse` does for each change), reusing what did not change (files parsed
once per text, `loader.parse_cached`; the standard library's scopes shared while its files
are unchanged, `Loader.prelude`; block calls replayed, `elaborate.BlockCache`), against
the same work with nothing reused (nor read from the disk cache of parses, parse_cache.py),
measured in pairs back to back, their order alternating.
Target: at most 5 ms after an edit.

Edits: (a) ResNet-152's own file (`classes=N`, a new N each time, so the file is parsed
again at every edit); (b) a comment in the family file `resnet.arch` opened beside it (both
files analysed again: the family changed); (c) the family's default input size (every shape
changes: nothing can be replayed, the worst case). Also the first hover after an edit, which
makes the recording elaboration (`_Recorder`, no replay).

Run: python bench/bench_lsp.py [--rounds N]   (prints a table; nothing is asserted)
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from archdsl.elaborate import BLOCK_CACHE
from archdsl.loader import ZOO, forget_parses
from archdsl.lsp.workspace import Workspace

NETWORK = str(ZOO / "resnet152.arch")
FAMILY = str(ZOO / "resnet.arch")
CACHE = os.environ.get("ARCHDSL_CACHE_DIR")  # as it was set for the run


def edits(kind: str, i: int) -> tuple:
    """(path edited, its new text) for edit number i of a kind."""
    net, fam = open(NETWORK).read(), open(FAMILY).read()
    if kind == "network":
        return NETWORK, net.replace("[3, 8, 36, 3])", f"[3, 8, 36, 3], classes={10 + i})")
    if kind == "comment":
        return FAMILY, fam.replace("# ResNet (He", f"# edit {i}\n# ResNet (He")
    side = 224 + 32 * (i % 8 + 1)  # a new input size each time
    return FAMILY, fam.replace("image=[3, 224, 224]", f"image=[3, {side}, {side}]")


def after_edit(ws: Workspace, path: str, text: str, reuse: bool) -> float:
    if not reuse:
        forget_parses()
        BLOCK_CACHE.clear()
        os.environ["ARCHDSL_CACHE_DIR"] = ""  # and no parse read from the disk cache
    try:
        t = time.perf_counter()
        ws.change(path, text)
        for p in ws.paths():
            assert not ws.analyse(p).problems, ws.analyse(p).problems
        return time.perf_counter() - t
    finally:
        if CACHE is None:
            os.environ.pop("ARCHDSL_CACHE_DIR", None)
        else:
            os.environ["ARCHDSL_CACHE_DIR"] = CACHE


def first_hover(ws: Workspace) -> float:
    text = open(FAMILY).read()
    line = next(i for i, s in enumerate(text.split("\n")) if "conv1: conv(64, k=7" in s) + 1
    ws.change(FAMILY, text + " ")  # a fresh analysis: no recording kept
    t = time.perf_counter()
    shown = ws.hover(FAMILY, line, 6)
    assert "64x112x112" in shown, shown
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=40, help="pairs per edit kind")
    args = p.parse_args()
    ws = Workspace()
    ws.open(NETWORK, open(NETWORK).read())
    ws.open(FAMILY, open(FAMILY).read())
    for path in ws.paths():
        ws.analyse(path)
    print(f"{args.rounds} pairs per edit; ms: median (min)")
    print(f"{'edit':58} {'reusing':>15} {'nothing reused':>15} {'ratio':>6}")
    for kind, what in (("network", "(a) resnet152.arch: classes=N"),
                       ("comment", "(b) resnet.arch: a comment"),
                       ("shapes", "(c) resnet.arch: the input size (nothing to replay)")):
        got = {True: [], False: []}
        for r in range(args.rounds):
            for reuse in ((True, False) if r % 2 == 0 else (False, True)):
                path, text = edits(kind, 2 * r + reuse)
                if reuse:  # the previous text analysed with reuse, as the server had it
                    after_edit(ws, *edits(kind, 2 * r + 100), True)
                got[reuse].append(after_edit(ws, path, text, reuse) * 1e3)
        a, b = statistics.median(got[True]), statistics.median(got[False])
        print(f"{what:58} {a:7.2f} ({min(got[True]):5.2f}) {b:7.2f} ({min(got[False]):5.2f}) "
              f"{a / b:6.2f}")
        for path in (NETWORK, FAMILY):  # back to the shipped texts
            after_edit(ws, path, open(path).read(), True)
    hovers = [first_hover(ws) * 1e3 for _ in range(10)]
    print(f"{'first hover after an edit (recording elaboration)':58} "
          f"{statistics.median(hovers):7.2f} ({min(hovers):5.2f})")


if __name__ == "__main__":
    main()
