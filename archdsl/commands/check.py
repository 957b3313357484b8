"""`archdsl check FILE...`: parse and elaborate every network of each file that can be built
without arguments, and the first point of each search space; print the first error of each
file."""
from __future__ import annotations

import sys

from ..elaborate import Elaborator, FirstAnswer
from ..errors import ArchError
from ..loader import Loader, resolve_file_argument
from ..network import networks_in
from ..values import DefValue
from .common import add_max_nodes


def check_file(path: str, max_nodes=None) -> tuple:
    """(networks elaborated, spaces checked); raises ArchError on the first error."""
    scope = Loader().load_path(resolve_file_argument(path))
    networks = 0
    for defn in networks_in(scope):
        params = getattr(defn, "params", ())
        if any(p.default is None for p in params):
            continue  # a parametric family: checked through the networks that bind it
        Elaborator(max_nodes).network(DefValue(defn, scope), defn.span)
        networks += 1
    spaces = 0
    for defn in scope.order:
        if defn.kind != "space" or any(p.default is None for p in defn.params):
            continue
        point = Elaborator(max_nodes).space(DefValue(defn, scope), {}, FirstAnswer())
        if point.error is not None:
            first_line = point.error.splitlines()[0]
            raise ArchError(f"space {defn.name}: its first point does not build ({first_line})",
                            defn.span)
        spaces += 1
    return networks, spaces


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="parse and elaborate files; report errors",
                       description="Parse and elaborate every network of each file (those "
                       "whose parameters all have defaults) and report the first error of each.")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_max_nodes(p)
    p.set_defaults(run=run)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def run(args) -> int:
    failed = 0
    for path in args.files:
        try:
            networks, spaces = check_file(path, getattr(args, "max_nodes", None))
        except ArchError as err:
            sys.stderr.write(err.format() + "\n")
            failed += 1
            continue
        what = _plural(networks, "network") + (f", {_plural(spaces, 'space')}" if spaces else "")
        print(f"{path}: ok ({what})")
    return 1 if failed else 0
