"""The protocol side of `archdsl lsp`: a pygls server over stdio whose handlers ask the
workspace (workspace.py) and convert its answers to the protocol: URIs to paths, and positions
from the protocol's (lines from 0, columns in UTF-16 code units) to the source's (from 1, in
characters) and back.

Diagnostics are published for every open file after each open, change and close (a file may
use another open one); hover, definition, completion and the outline answer requests.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
from typing import Optional

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from ..errors import Span, registered_source
from .workspace import Workspace

_WORD = re.compile(r"[A-Za-z0-9_]*")
_SYMBOLS = {"network": t.SymbolKind.Class, "block": t.SymbolKind.Function,
            "space": t.SymbolKind.Namespace}
_COMPLETIONS = {"parameter": t.CompletionItemKind.Field, "variable": t.CompletionItemKind.Variable,
                "block": t.CompletionItemKind.Function, "network": t.CompletionItemKind.Class,
                "space": t.CompletionItemKind.Module, "op": t.CompletionItemKind.Operator,
                "function": t.CompletionItemKind.Function}


# ---------------------------------------------------------------------- positions


def _line_text(file: str, line: int) -> str:
    text = registered_source(file) or ""
    lines = text.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _utf16(text: str, col: int) -> int:
    """The UTF-16 offset of the character at column `col` (from 1) of a line."""
    return len(text[:max(col - 1, 0)].encode("utf-16-le")) // 2


def _column(text: str, character: int) -> int:
    """The column (from 1) of the character at UTF-16 offset `character` of a line."""
    units = 0
    for i, ch in enumerate(text):
        if units >= character:
            return i + 1
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text) + 1


def _range(span: Span) -> t.Range:
    line = max(span.line, 1)
    first = _line_text(span.file, line)
    start = t.Position(line - 1, _utf16(first, span.col))
    if span.end_line is None or span.end_col is None:  # a point: as wide as the word there
        width = _WORD.match(first, max(span.col - 1, 0)).end() - (span.col - 1) or 1
        return t.Range(start, t.Position(line - 1, _utf16(first, span.col + width)))
    last = _line_text(span.file, span.end_line)
    return t.Range(start, t.Position(span.end_line - 1, _utf16(last, span.end_col)))


def _location(span: Span) -> t.Location:
    return t.Location(from_fs_path(span.file), _range(span))


class ArchServer(LanguageServer):
    def __init__(self):
        super().__init__("archdsl", __version__,
                         text_document_sync_kind=t.TextDocumentSyncKind.Full)
        self.files = Workspace()
        self.uris: dict = {}  # path -> the URI the client named it by

    def path(self, uri: str) -> str:
        """The file a URI names (an unsaved, untitled buffer: its URI, as a name)."""
        path = to_fs_path(uri) or uri
        self.uris[path] = uri
        return path

    def where(self, doc: t.TextDocumentIdentifier, pos: t.Position) -> tuple:
        path = self.path(doc.uri)
        text = self.files.analyse(path).text
        lines = text.split("\n")
        line = lines[pos.line] if pos.line < len(lines) else ""
        return path, pos.line + 1, _column(line, pos.character)

    def publish(self) -> None:
        for path in self.files.paths():
            diagnostics = [_diagnostic(p) for p in self.files.analyse(path).problems]
            uri = self.uris.get(path) or from_fs_path(path)
            self.text_document_publish_diagnostics(
                t.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))


def _diagnostic(p) -> t.Diagnostic:
    related = []
    if p.origin is not None:
        related.append(t.DiagnosticRelatedInformation(_location(p.origin), p.message))
    for name, site in reversed(p.chain):  # innermost first, as the command line prints them
        related.append(t.DiagnosticRelatedInformation(_location(site),
                                                      f"in call of '{name}' here"))
    return t.Diagnostic(range=_range(p.span), message=p.message, source="archdsl",
                        severity=t.DiagnosticSeverity.Error,
                        related_information=related or None)


server = ArchServer()


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: ArchServer, params: t.DidOpenTextDocumentParams):
    ls.files.open(ls.path(params.text_document.uri), params.text_document.text)
    ls.publish()


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: ArchServer, params: t.DidChangeTextDocumentParams):
    # Full synchronisation: the last change holds the whole text.
    ls.files.change(ls.path(params.text_document.uri), params.content_changes[-1].text)
    ls.publish()


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: ArchServer, params: t.DidCloseTextDocumentParams):
    uri = params.text_document.uri
    ls.files.close(ls.path(uri))
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    ls.publish()


@server.feature(t.TEXT_DOCUMENT_HOVER)
def hover(ls: ArchServer, params: t.HoverParams) -> Optional[t.Hover]:
    text = ls.files.hover(*ls.where(params.text_document, params.position))
    if text is None:
        return None
    return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text))


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def definition(ls: ArchServer, params: t.DefinitionParams) -> Optional[t.Location]:
    span = ls.files.definition(*ls.where(params.text_document, params.position))
    if span is None:
        return None
    if registered_source(span.file) is None:  # a used file not loaded yet: its first line
        return t.Location(from_fs_path(span.file), t.Range(t.Position(0, 0), t.Position(0, 0)))
    return _location(span)


@server.feature(t.TEXT_DOCUMENT_COMPLETION,
                t.CompletionOptions(trigger_characters=["(", ",", " "]))
def completion(ls: ArchServer, params: t.CompletionParams) -> t.CompletionList:
    items = [t.CompletionItem(label=label, kind=_COMPLETIONS.get(kind), detail=detail,
                              documentation=doc or None, sort_text=f"{i:05d}")
             for i, (label, kind, detail, doc) in
             enumerate(ls.files.completion(*ls.where(params.text_document, params.position)))]
    return t.CompletionList(is_incomplete=False, items=items)


@server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def symbols(ls: ArchServer, params: t.DocumentSymbolParams) -> list:
    path = ls.path(params.text_document.uri)
    return [t.DocumentSymbol(name=name, kind=_SYMBOLS.get(kind, t.SymbolKind.Object),
                             range=_range(whole), selection_range=_range(name_span),
                             detail=kind)
            for name, kind, whole, name_span in ls.files.symbols(path)]


def serve() -> None:
    """Serve on copies of stdin and stdout, which pygls closes at `exit`; meanwhile anything
    printed goes to stderr, where it cannot break a message of the protocol."""
    reader = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    writer = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    with contextlib.redirect_stdout(sys.stderr):
        server.start_io(reader, writer)
