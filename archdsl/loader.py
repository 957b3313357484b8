"""Files and imports: reads `.arch` files, resolves `use` (relative to the importing file,
then the standard library), and gives each file the scope of names it can see.

A file sees its own definitions, then those of the files it uses (transitively), then the
standard library (the prelude). Its own definitions shadow the others; the same name defined
by two different used files is an error naming both places; so is an import cycle.

Files are read through `files.read_source` (regular files only, a size limit). A file named
`.arch` must be one after its symlinks are followed (`passwd.arch -> /etc/passwd` is refused
without a byte of it read or quoted); `zoo:NAME` names only a network file of the zoo, never a
path (`zoo:../x`, `zoo:/abs/x`).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import parse_cache, syntax
from .errors import ArchError, Span, forget_source, register_source, registered_source
from .files import read_source, reason, shown
from .suggest import did_you_mean

STDLIB = Path(__file__).resolve().parent / "stdlib"
ZOO = Path(__file__).resolve().parent / "zoo"
SPACES = Path(__file__).resolve().parent / "spaces"  # search/*.arch, shipped as the zoo is


@dataclass(eq=False)
class FileScope:
    path: str
    module: syntax.Module
    own: dict = field(default_factory=dict)  # name -> definition written in this file
    visible: dict = field(default_factory=dict)  # name -> (definition, FileScope)
    order: list = field(default_factory=list)  # own definitions in file order
    _modules: Optional[tuple] = None

    def lookup(self, name: str):
        return self.visible.get(name)

    def modules(self) -> tuple:
        """Every parsed module the definitions this file sees were written in, and those they
        see in turn: what a definition of this file means depends on these alone (the
        elaborator's block cache keys on them, by identity)."""
        if self._modules is None:
            seen, todo, found = {id(self)}, [self], []
            while todo:
                scope = todo.pop()
                found.append(scope.module)
                for _, owner in scope.visible.values():
                    if id(owner) not in seen:
                        seen.add(id(owner))
                        todo.append(owner)
            self._modules = tuple(found)
        return self._modules


class Loader:
    """Parses each file once and resolves imports. One loader per elaboration run.
    `overlay` maps resolved paths to texts read instead of the files (an editor's unsaved
    buffers, for the language server)."""

    def __init__(self, overlay: Optional[dict] = None):
        self.overlay = overlay or {}
        self.scopes: dict[str, FileScope] = {}
        self._loading: list[tuple[str, Optional[Span]]] = []
        self._prelude: Optional[dict] = None

    # -- entry points
    def load_path(self, path: str) -> FileScope:
        return self._load(str(Path(path)), None)

    def load_text(self, text: str, file: str = "<string>") -> FileScope:
        return self._build(file, syntax.parse(text, file), base=Path.cwd())

    # -- internals
    def _read(self, path: str, span: Optional[Span]) -> str:
        forget_source(path)  # a message about this read must not quote an older version
        if path.endswith(".arch") and "\x00" not in path:  # read_source refuses a NUL
            target = os.path.realpath(path)
            if not target.endswith(".arch"):
                subject = "" if span is None else f"{shown(path)} "
                raise ArchError(f"{subject}is a symlink to {shown(target)}, which is not an "
                                f".arch file", span or Span(shown(path), 0, 0))
        data = read_source(path, span)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            # Point at the first byte that is not UTF-8 (the file cannot be quoted, so no caret).
            line = data.count(b"\n", 0, e.start) + 1
            col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
            raise ArchError(f"not UTF-8 text (byte 0x{data[e.start]:02x})",
                            Span(shown(path), line, col)) from None

    def _load(self, path: str, span: Optional[Span]) -> FileScope:
        try:
            key = str(Path(path).resolve())
        except (OSError, ValueError):  # a name no file can have: read_source says why
            key = os.path.abspath(path)
        for loading, site in self._loading:
            if loading == key:
                cycle = " -> ".join(Path(p).name for p, _ in self._loading[
                    [p for p, _ in self._loading].index(key):]) + f" -> {Path(key).name}"
                err = ArchError(f"import cycle: {cycle}", span)
                raise err
        if key in self.scopes:
            return self.scopes[key]
        text = self.overlay.get(key)
        from_disk = text is None
        if from_disk:
            text = self._read(path, span)
        self._loading.append((key, span))
        try:
            module = parse_cached(text, path, from_disk)
            scope = self._build(path, module, base=Path(path).parent)
        finally:
            self._loading.pop()
        self.scopes[key] = scope
        return scope

    def _build(self, file: str, module: syntax.Module, base: Path) -> FileScope:
        scope = FileScope(file, module)
        imported: dict = {}
        for item in module.items:
            if isinstance(item, syntax.Use):
                target = self.use_target(item, base)
                used = self._load(target, item.span)
                for name, entry in used.visible.items():
                    if self._is_stdlib(entry[1].path):
                        continue  # the prelude brings these to every file anyway
                    self._merge(imported, name, entry, item.span)
            else:
                if item.name in scope.own:
                    first = scope.own[item.name]
                    raise ArchError(f"'{item.name}' is defined twice in this file "
                                    f"(first at {first.span})", item.span)
                scope.own[item.name] = item
                scope.order.append(item)
        visible = dict(self.prelude()) if not self._is_stdlib(file) else {}
        visible.update(imported)
        for name, item in scope.own.items():
            visible[name] = (item, scope)
        scope.visible = visible
        return scope

    def _merge(self, into: dict, name: str, entry, site: Span):
        have = into.get(name)
        if have is not None and have[0] is not entry[0]:
            raise ArchError(f"'{name}' is defined by two files this file uses: "
                            f"{have[0].span} and {entry[0].span}", site)
        into[name] = entry

    def use_target(self, item: syntax.Use, base: Path) -> str:
        """The file a `use` names, from a file in the directory `base`."""
        if item.path.startswith("zoo:"):
            # `use "zoo:resnet50"`: a network file of the zoo shipped with the package.
            try:
                return resolve_file_argument(item.path)
            except ArchError as e:
                raise e.with_span(item.span) from None
        if not item.path.endswith(".arch"):
            raise ArchError(f"use reads only .arch files, not {item.path!r}", item.span)
        return self._resolve_use(item, base)

    def _resolve_use(self, item: syntax.Use, base: Path) -> str:
        if "\x00" in item.path:
            raise ArchError(f"cannot read {shown(item.path)!r}: a file name cannot contain a NUL "
                            f"character", item.span)
        for root in (base, STDLIB):
            candidate = root / item.path
            try:
                os.stat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as e:  # e.g. a name too long: say so rather than "cannot find"
                raise ArchError(f"cannot read {shown(item.path)!r}: {reason(e)}",
                                item.span) from None
            return str(candidate)  # read_source refuses what is not a regular file
        raise ArchError(f"cannot find {shown(item.path)!r} (looked in {shown(base)} and the "
                        f"standard library)", item.span)

    @staticmethod
    def _is_stdlib(file: str) -> bool:
        return _in_stdlib(file)

    def prelude(self) -> dict:
        """Every definition of the standard library's files, visible to every user file."""
        if self._prelude is None:
            self._prelude = {}
            files = sorted(STDLIB.glob("*.arch"))
            stamp = _stamp(files) if not any(str(f) in self.overlay for f in files) else None
            if stamp is not None and _PRELUDE.get("stamp") == stamp:
                # The files did not change since a loader of this process read them: their
                # scopes are the same (they see only one another), so share them rather than
                # read and resolve them again (most of loading a file after an edit in the
                # language server, bench/bench_lsp.py).
                for f, scope in zip(files, _PRELUDE["scopes"]):
                    self.scopes[str(f)] = scope
                    register_source(scope.path, _PRELUDE["texts"][scope.path])
                self._prelude = _PRELUDE["merged"]
                return self._prelude
            scopes = [self._load(str(f), None) for f in files]
            merged: dict = {}
            for s in scopes:
                for name, item in s.own.items():
                    self._merge(merged, name, (item, s), item.span)
            # The standard library's files see one another.
            for s in scopes:
                vis = dict(merged)
                vis.update({n: (i, s) for n, i in s.own.items()})
                s.visible = vis
            self._prelude = merged
            if stamp is not None and not any(isinstance(i, syntax.Use)
                                             for s in scopes for i in s.module.items):
                _PRELUDE.update(stamp=stamp, scopes=scopes, merged=merged,
                                texts={s.path: registered_source(s.path) for s in scopes})
        return self._prelude


# The standard library's scopes as the last loader built them, with the stamp of its files.
_PRELUDE: dict = {}


def _stamp(files: list) -> tuple | None:
    """What says a file is unchanged without reading it (as Python's own bytecode cache does:
    modification time and size, here with the inode and change time too)."""
    try:
        return tuple((str(f), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
                     for f in files for st in (os.stat(f),))
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1024)
def _in_stdlib(file: str) -> bool:
    # Asked for every name a used file brings: resolving the path each time was most of the
    # time of loading a file whose imports are parsed already.
    try:
        return Path(file).resolve().parent == STDLIB
    except OSError:
        return False


CACHED_TEXT = 2 ** 20  # characters: larger files are parsed each time, not kept


def parse_cached(text: str, path: str, from_disk: bool = False) -> syntax.Module:
    """A file parsed once per process and text: a Loader per check, search trial or edit in
    the language server would otherwise spend most of its time parsing again the standard
    library and the files that did not change (an edited file is parsed again, its text
    differs). Parsed modules are frozen, so sharing them is safe; the same module object
    for the same text is also what lets the elaborator's block cache recognise unchanged
    definitions. A shipped file read from disk is also kept on disk (parse_cache.py); an
    editor's buffer is not (each edit would be an entry)."""
    if len(text) > CACHED_TEXT:
        return syntax.parse(text, path)
    module = _parse(text, path, from_disk)
    register_source(path, text)  # a hit did not register it; messages quote it
    return module


@functools.lru_cache(maxsize=128)
def _parse(text: str, path: str, from_disk: bool) -> syntax.Module:
    if from_disk:
        return parse_cache.parsed(text, path, syntax.parse)  # shipped files: once per machine
    return syntax.parse(text, path)


def forget_parses() -> None:
    """Drop every parsed file (bench/bench_lsp.py's baseline: nothing reused)."""
    _parse.cache_clear()
    _PRELUDE.clear()


def resolve_file_argument(arg: str) -> str:
    """`zoo:NAME` names a network of the zoo shipped inside the package, `search:NAME` one of
    its search-space files (search/NAME.arch). NAME is looked up among the shipped file names,
    never used as a path, so nothing outside those directories can be named this way."""
    for prefix, folder, what in (("zoo:", ZOO, "the zoo has no network"),
                                 ("search:", SPACES, "no search space file ships with archdsl named")):
        if arg.startswith(prefix):
            name = arg[len(prefix):]
            known = sorted(p.stem for p in folder.glob("*.arch"))
            if name not in known:
                hint = did_you_mean(name, known)
                if hint:  # the one name meant, not the whole list
                    raise ArchError(f"{what} {shown(name)!r}{hint} (`archdsl zoo` lists "
                                    f"all {len(known)})")
                raise ArchError(f"{what} {shown(name)!r}; it has: {', '.join(known)}")
            return str(folder / f"{name}.arch")
    return arg
