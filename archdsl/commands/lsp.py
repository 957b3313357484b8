"""`archdsl lsp`: the language server, over stdio (what an editor starts; editors/vscode does).
It imports pygls only when it runs, and never torch."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("lsp", help="run the language server (LSP over stdio) for editors",
                       description="Run the language server for .arch files over standard input "
                       "and output: diagnostics as you type, hover with shapes, parameters and "
                       "FLOPs, go to definition, completion and the outline. Editors start it "
                       "(editors/vscode does); it is not meant to be run by hand.")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..lsp.server import serve
    serve()
    return 0
