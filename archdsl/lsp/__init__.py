"""The language server (`archdsl lsp`): what an editor shows while a `.arch` file is written.

`workspace.py` is the language side and knows nothing of the protocol: the open files, their
diagnostics (every network of a file elaborated, as `check` does), what a position means
(hover, definition, completion) and a file's outline, in the positions of the source (lines and
columns from 1). `server.py` is the protocol side: pygls, JSON-RPC over stdio, and positions as
the protocol counts them (from 0, in UTF-16 code units). Neither imports torch.
"""
