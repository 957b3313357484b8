"""The language side of the server: open files, what each one's networks elaborate to, and what
a position in a file means. Positions are the source's own: lines and columns from 1, columns
in characters; `server.py` converts them to the protocol's.

A file is analysed as `archdsl check` does: loaded (through the editor's unsaved texts: a
file that uses another open file sees its buffer, not the disk), then every network whose
parameters all have defaults is elaborated, and the first point of each space; each error
is one `Problem`. After an edit only what changed is done again: files whose text did not
change are not parsed again (`loader.parse_cached`) and block calls with the same arguments
and input shape are replayed (`elaborate.BlockCache`).

Hover on a statement reads a second, recording elaboration (`_Recorder`: which ops each run of
each statement added), made on the first hover after an edit and kept until the next one; it
looks at the networks of every open file, so a statement of a family file (`resnet.arch`) or
of a block shows its shape and costs at every call site of the networks that use it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .. import analysis, ops, syntax
from ..elaborate import Elaborator, FirstAnswer
from ..errors import ArchError, Span, registered_source, source_text
from ..evaluate import BUILTINS
from ..loader import STDLIB, Loader
from ..network import networks_in
from ..values import DefValue, show

MAX_SITES = 12  # call sites listed in a hover; the others are counted
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def same_file(a: str, b: str) -> bool:
    return a == b or _real(a) == _real(b)


_REAL: dict = {}


def _real(path: str) -> str:
    if path not in _REAL:
        try:
            _REAL[path] = os.path.realpath(path)
        except (OSError, ValueError):
            _REAL[path] = path
    return _REAL[path]


# ====================================================================== results


@dataclass
class Problem:
    """One error, placed in the file it is reported for: at its own position when it is in
    that file, else at the call in that file that led to it (`origin` is then where it is)."""
    message: str
    span: Span
    origin: Optional[Span] = None
    chain: tuple = ()  # (callee name, call span), outermost first


@dataclass
class Run:
    """One run of a statement in a recorded elaboration: the scope it ran in, the nodes it
    added (graph.nodes[start:end]), its output and, for `let`, the value bound."""
    span: Span
    prefix: str
    start: int
    end: int
    out: Optional[str]
    value: object = None


@dataclass
class Recorded:
    graph: object
    runs: list
    keys: list  # the graph's node keys in order


@dataclass
class Analysis:
    path: str
    text: str
    scope: object = None  # the FileScope, None when the file does not load
    networks: list = field(default_factory=list)  # (defn, file scope) elaborated
    problems: list = field(default_factory=list)
    recorded: Optional[list] = None  # of Recorded, made on demand


class _Recorder(Elaborator):
    """An elaboration that notes every run of every statement, for hover. Without the block
    cache: a replayed block would run none of its statements."""

    def __init__(self):
        super().__init__(cache=None)
        self.runs: list = []

    def stmt(self, s, env, scope, x, branches=None):
        start = self.graph.number_of_nodes()
        out = super().stmt(s, env, scope, x, branches)
        value = env.vars.get(s.name) if isinstance(s, syntax.Let) else None
        self.runs.append(Run(s.span, scope.prefix if scope is not None else "", start,
                             self.graph.number_of_nodes(), out, value))
        return out


# ====================================================================== the workspace


class Workspace:
    """The open files (path as the editor names it -> text) and their analyses, made again
    after each change. Files are loaded under the editor's paths (so its positions and
    diagnostics name them); the loader reads each one's buffer under its real path."""

    def __init__(self):
        self.texts: dict = {}
        self._analyses: dict = {}
        self._loader: Optional[Loader] = None  # one per version of the open texts

    # -- the files
    def open(self, path: str, text: str) -> None:
        self.texts[path] = text
        self._analyses.clear()  # another open file may use this one
        self._loader = None

    change = open

    def close(self, path: str) -> None:
        self.texts.pop(path, None)
        self._analyses.clear()
        self._loader = None

    def paths(self) -> list:
        return list(self.texts)

    def analyse(self, path: str) -> Analysis:
        found = self._analyses.get(path)
        if found is None:
            if self._loader is None:  # shared by the files analysed at this version: the
                # standard library and the files several use are loaded once
                self._loader = Loader({_real(p): text for p, text in self.texts.items()})
            found = self._analyses[path] = _analyse(path, self.texts.get(path), self._loader)
        return found

    # -- hover
    def hover(self, path: str, line: int, col: int) -> Optional[str]:
        """On a definition's or op's name its signature, defaults and doc comment; on a
        statement its output shape, params and FLOPs in every run (both for a call's
        callee)."""
        a = self.analyse(path)
        word = _word_at(a.text, line, col)
        about = None
        if a.scope is not None and word is not None:
            about = _definition_hover(a, word[0], line)
        entry = a.scope.lookup(word[0]) if about is not None else None
        if entry is not None and entry[0].kind == "network":
            about = "\n\n".join([about] + self._network_totals(word[0]))
        module = _module(a)
        stmt = None if module is None else _statement_at(module, line, col)
        if stmt is None or (about is not None and getattr(stmt, "callee", None) != word[0]):
            return about
        runs = []
        for other in self.paths():
            for rec in self._recorded(other):
                runs.extend((rec, r) for r in rec.runs if _same_span(r.span, stmt.span))
        results = _statement_hover(stmt, runs)
        return "\n\n---\n\n".join(p for p in (about, results) if p) or None

    def _network_totals(self, name: str) -> list:
        """The totals of the network `name` as the open files elaborate it."""
        for path in self.paths():
            for rec in self._recorded(path):
                g = rec.graph
                if g.graph["name"] == name:
                    t = analysis.totals(g)
                    out = g.nodes[g.graph["outputs"][0]]["shape"]
                    return [f"`{shape_text(g.graph['input_shape'])}` → `{shape_text(out)}` · "
                            f"{t['params']:,} params · {t['flops']:,} FLOPs "
                            f"({_scaled(t['flops'])}) · {len(rec.keys) - 1:,} ops"]
        return []

    def _recorded(self, path: str) -> list:
        a = self.analyse(path)
        if a.recorded is None:
            a.recorded = []
            for defn, where in a.networks:
                rec = _Recorder()
                try:
                    graph = rec.network(DefValue(defn, where), defn.span)
                except ArchError:
                    continue
                a.recorded.append(Recorded(graph, rec.runs, list(graph.nodes)))
        return a.recorded

    # -- definition
    def definition(self, path: str, line: int, col: int) -> Optional[Span]:
        """Where what is at this position is defined: a block, network, space (its first
        line) or the file a `use` names (its start)."""
        a = self.analyse(path)
        module = _module(a)
        if module is not None:
            for item in module.items:
                if isinstance(item, syntax.Use) and _contains(item.span, line, col):
                    try:
                        target = Loader().use_target(item, Path(path).parent)
                    except ArchError:
                        return None
                    return Span(target, 1, 1, 1, 1)
        word = _word_at(a.text, line, col)
        if word is None or a.scope is None:
            return None
        entry = a.scope.lookup(word[0])
        if entry is None or _is_local(module, word[0], line, col):
            return None
        return _name_span(entry[0])

    # -- completion
    def completion(self, path: str, line: int, col: int) -> list:
        """(label, kind, detail, documentation) for what may be written here: inside a call's
        parentheses the callee's parameters (`name=`, with its default); names in scope
        (parameters, lets and loop variables of the enclosing definition), the blocks,
        networks and spaces the file sees, the ops and the builtins."""
        a = self.analyse(path)
        items = []
        lines = a.text.split("\n")
        before = lines[line - 1][:col - 1] if 0 < line <= len(lines) else ""
        callee = _open_call(before)
        if callee is not None:
            for name, default in _parameters(a, callee):
                items.append((f"{name}=", "parameter", f"{callee}: {name}"
                              + ("" if default is None else f" = {default}"), ""))
        module = _module(a)
        if module is not None:
            for name in _locals(module, line, col):
                items.append((name, "variable", "in scope", ""))
        if a.scope is not None:
            for name, (defn, where) in sorted(a.scope.visible.items()):
                items.append((name, defn.kind, _signature(defn), _doc_comment(defn)))
        for name, op in sorted(ops.OPS.items()):
            if name != ops.INPUT.name:
                items.append((name, "op", _op_signature(op), op.doc))
        for alias, name in sorted(ops.ALIASES.items()):
            items.append((alias, "op", f"{alias}: {_op_signature(ops.OPS[name])}", ""))
        for name in sorted(BUILTINS):
            items.append((name, "function", f"builtin {name}(...)", ""))
        return items

    # -- outline
    def symbols(self, path: str) -> list:
        """(name, kind, whole span, name span) of the file's networks, blocks and spaces."""
        module = _module(self.analyse(path))
        if module is None:
            return []
        return [(item.name, item.kind, item.span, _name_span(item)) for item in module.items
                if not isinstance(item, syntax.Use)]


# ====================================================================== analysing a file


def _analyse(path: str, text: Optional[str], loader: Loader) -> Analysis:
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, ValueError):
            text = ""
    a = Analysis(path, text)
    try:
        a.scope = loader.load_path(path)
    except ArchError as err:
        a.problems.append(_problem(err, path, Span(path, 1, 1)))
        return a
    for defn in networks_in(a.scope):
        if any(p.default is None for p in getattr(defn, "params", ())):
            continue  # a family: elaborated through the networks that bind it
        a.networks.append((defn, a.scope))
        try:
            Elaborator().network(DefValue(defn, a.scope), defn.span)
        except ArchError as err:
            a.problems.append(_problem(err, path, defn.span))
    for defn in a.scope.order:
        if defn.kind != "space" or any(p.default is None for p in defn.params):
            continue
        try:
            point = Elaborator().space(DefValue(defn, a.scope), {}, FirstAnswer())
        except ArchError as err:
            a.problems.append(_problem(err, path, defn.span))
            continue
        if point.error is not None:
            first = point.error.splitlines()[0]
            a.problems.append(Problem(f"space {defn.name}: its first point does not build "
                                      f"({first})", defn.span))
    return a


def _problem(err: ArchError, path: str, fallback: Span) -> Problem:
    span = err.span if err.span is not None and err.span.line > 0 else None
    if span is not None and same_file(span.file, path):
        return Problem(err.message, span, None, err.chain)
    for _, site in err.chain:  # outermost first: the call in this file that led there
        if same_file(site.file, path):
            return Problem(err.message, site, span, err.chain)
    return Problem(err.message, fallback, span, err.chain)


def _module(a: Analysis):
    if a.scope is not None:
        return a.scope.module
    try:
        return syntax.parse(a.text, a.path)
    except ArchError:
        return None


# ====================================================================== positions


def _same_span(a: Span, b: Span) -> bool:
    return (a.line == b.line and a.col == b.col and a.end_line == b.end_line
            and a.end_col == b.end_col and same_file(a.file, b.file))


def _contains(span: Span, line: int, col: int) -> bool:
    end_line = span.end_line or span.line
    end_col = span.end_col if span.end_col is not None else 10 ** 9
    return (span.line, span.col) <= (line, col) <= (end_line, end_col)


def _word_at(text: str, line: int, col: int):
    """(word, start column) of the name at this position, or None."""
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    for m in _WORD.finditer(lines[line - 1]):
        if m.start() + 1 <= col <= m.end() + 1:
            return m.group(), m.start() + 1
    return None


def _children(s) -> list:
    if isinstance(s, (syntax.BlockDef, syntax.NetworkDef, syntax.SpaceDef)):
        return list(s.body)
    kids = []
    for name in ("body", "shortcut", "then", "other"):
        value = getattr(s, name, None)
        if isinstance(value, tuple):
            kids.extend(value)
    if isinstance(s, syntax.Aux):
        kids.append(s.target)
    return kids


def _statement_at(module, line: int, col: int):
    """The innermost statement at this position."""
    found = None
    todo = [item for item in module.items if not isinstance(item, syntax.Use)]
    while todo:
        s = todo.pop()
        if not _contains(s.span, line, col):
            continue
        if not isinstance(s, (syntax.BlockDef, syntax.NetworkDef, syntax.SpaceDef,
                              syntax.NetworkAlias)):
            found = s
        todo = _children(s)
    return found


def _definition_at(module, line: int, col: int):
    for item in module.items:
        if not isinstance(item, syntax.Use) and _contains(item.span, line, col):
            return item
    return None


def _locals(module, line: int, col: int) -> list:
    """Parameters of the definition at this position, its lets and loop variables."""
    defn = _definition_at(module, line, col)
    if defn is None:
        return []
    names = [p.name for p in getattr(defn, "params", ())]
    todo = list(_children(defn))
    while todo:
        s = todo.pop()
        if isinstance(s, (syntax.Let, syntax.ParamStmt)):
            names.append(s.name)
        elif isinstance(s, (syntax.For, syntax.Dense)):
            names.append(s.var)
        todo.extend(_children(s))
    return sorted(set(names))


def _is_local(module, name: str, line: int, col: int) -> bool:
    return module is not None and name in _locals(module, line, col)


def _name_span(defn) -> Span:
    """The name in a definition's first line (`block NAME(...)`)."""
    text = registered_source(defn.span.file) or ""
    lines = text.split("\n")
    line = lines[defn.span.line - 1] if 0 < defn.span.line <= len(lines) else ""
    m = re.search(r"\b%s\b" % re.escape(defn.name), line[defn.span.col - 1:])
    col = defn.span.col + (m.start() if m else 0)
    return Span(defn.span.file, defn.span.line, col, defn.span.line, col + len(defn.name))


def _open_call(before: str) -> Optional[str]:
    """The callee whose parentheses are still open at the end of `before`."""
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        ch = before[i]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            if depth == 0:
                if ch == "[":
                    return None
                m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", before[:i])
                return m.group(1) if m else None
            depth -= 1
    return None


# ====================================================================== hover texts


def _parameters(a: Analysis, name: str) -> list:
    """(name, default text or None) of what `name` calls."""
    entry = a.scope.lookup(name) if a.scope is not None else None
    if entry is not None:
        return [(p.name, None if p.default is None else _source(p.default.span))
                for p in getattr(entry[0], "params", ())]
    op = ops.lookup(name)
    if op is not None:
        return [(p.name, None if p.default is ops.REQUIRED else show(p.default))
                for p in op.params]
    return []


def _source(span: Span) -> str:
    return source_text(span)


def _signature(defn) -> str:
    if isinstance(defn, syntax.NetworkAlias):
        return f"network {defn.name} = {_source(defn.call.span)}"
    params = ", ".join(p.name if p.default is None else f"{p.name}={_source(p.default.span)}"
                       for p in defn.params)
    return f"{defn.kind} {defn.name}({params})"


def _op_signature(op) -> str:
    params = ", ".join(p.name if p.default is ops.REQUIRED else f"{p.name}={show(p.default)}"
                       for p in op.params)
    return f"op {op.name}({params})"


def _doc_comment(defn) -> str:
    """The comment lines right above a definition."""
    text = registered_source(defn.span.file) or ""
    lines = text.split("\n")
    out = []
    n = defn.span.line - 2
    while 0 <= n < len(lines) and lines[n].lstrip().startswith("#"):
        out.append(lines[n].lstrip()[1:].strip())
        n -= 1
    return " ".join(reversed(out)).strip()


def _definition_hover(a: Analysis, word: str, line: int) -> Optional[str]:
    module = a.scope.module
    entry = a.scope.lookup(word)
    defn_here = _definition_at(module, line, 1)
    if defn_here is not None and word in [p.name for p in getattr(defn_here, "params", ())]:
        return None  # a parameter shadows a definition of its name
    if entry is not None:
        defn = entry[0]
        where = defn.span.file
        shown = "the standard library" if Path(where).parent == STDLIB else Path(where).name
        parts = [f"```archdsl\n{_signature(defn)}\n```", _doc_comment(defn),
                 f"*{shown}, line {defn.span.line}*"]
        return "\n\n".join(p for p in parts if p)
    op = ops.lookup(word)
    if op is not None and op is not ops.INPUT:
        aliases = [k for k, v in ops.ALIASES.items() if v == op.name]
        parts = [f"```archdsl\n{_op_signature(op)}\n```", op.doc,
                 f"*also: {', '.join(aliases)}*" if aliases else ""]
        return "\n\n".join(p for p in parts if p)
    return None


def shape_text(shape) -> str:
    return "x".join(str(d) for d in shape)


def _scaled(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:g}"


def _statement_hover(stmt, runs: list) -> Optional[str]:
    if not runs:
        return None
    rows = []
    for rec, run in runs:
        site = run.prefix.rstrip(".") or "(top)"
        name = rec.graph.graph["name"]
        if isinstance(stmt, syntax.Let):
            rows.append(f"`{name}` {site}: `{stmt.name} = {show(run.value)}`")
            continue
        params = flops = 0
        for key in rec.keys[run.start:run.end]:
            cost = analysis.node_cost(rec.graph, key)
            params += cost["params"]
            flops += 0 if rec.graph.nodes[key].get("aux") else cost["flops"]
        shape = rec.graph.nodes[run.out]["shape"] if run.out is not None else None
        text = f"`{name}` {site}: " if len(runs) > 1 else f"`{name}`: "
        if shape is not None:
            text += f"`{shape_text(shape)}`"
        rows.append(text + f" · {params:,} params · {flops:,} FLOPs ({_scaled(flops)})")
    head = ""
    if len(runs) > 1:
        head = f"{len(runs)} runs (call sites):\n\n"
    shown = rows[:MAX_SITES]
    more = len(rows) - len(shown)
    tail = f"\n\n… and {more} more" if more else ""
    return head + "\n\n".join(shown) + tail
