"""The language server as an editor sees it: `archdsl lsp` started as a subprocess and driven
over stdio with JSON-RPC (Content-Length framed messages), as VS Code's client does. The
figures come from outside the server: torchvision's state_dict (conv1's weight 64x3x7x7),
the convolution's output size (224 + 2*3 - 7) // 2 + 1 = 112, and the line of the stdlib's
`block bottleneck` as the file has it."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from archdsl.loader import STDLIB, ZOO

ARCHDSL = [sys.executable, "-m", "archdsl"]


class Client:
    """A minimal LSP client: requests wait for their response; notifications from the
    server (publishDiagnostics) are collected."""

    def __init__(self, cwd, argv=ARCHDSL + ["lsp"]):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
        self.next_id = 0
        self.notes: list = []
        self.cond = threading.Condition()
        self.responses: dict = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.decode("ascii").strip()
                if not line:
                    break
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            msg = json.loads(out.read(int(headers["content-length"])))
            with self.cond:
                if "id" in msg and "method" not in msg:
                    self.responses[msg["id"]] = msg
                else:
                    self.notes.append(msg)
                self.cond.notify_all()

    def send(self, msg: dict):
        body = json.dumps(msg).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: dict, timeout=60):
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        with self.cond:
            assert self.cond.wait_for(lambda: rid in self.responses, timeout), method
            msg = self.responses.pop(rid)
        assert "error" not in msg, msg
        return msg["result"]

    def notify(self, method: str, params: dict):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics(self, uri: str, after: int, timeout=60) -> list:
        """The diagnostics of the first publication for `uri` after note number `after`."""
        def found():
            return [n for n in self.notes[after:] if n.get("method") ==
                    "textDocument/publishDiagnostics" and n["params"]["uri"] == uri]
        with self.cond:
            assert self.cond.wait_for(found, timeout), f"no diagnostics for {uri}"
            return found()[0]["params"]["diagnostics"]

    def close(self):
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def _start(c: Client) -> Client:
    result = c.request("initialize", {"processId": os.getpid(), "rootUri": None,
                                      "capabilities": {}})
    caps = result["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"]
    assert caps["completionProvider"] and caps["documentSymbolProvider"]
    c.notify("initialized", {})
    return c


@pytest.fixture
def client(tmp_path):
    c = _start(Client(tmp_path))
    yield c
    c.close()


def _open(client, path: Path, text: str):
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": path.as_uri(), "languageId": "archdsl", "version": 1, "text": text}})


def _position(text: str, needle: str, offset: int = 1) -> dict:
    """The protocol position (from 0) of a character inside the first `needle` of `text`."""
    before = text[:text.index(needle)]
    return {"line": before.count("\n"), "character": len(before.split("\n")[-1]) + offset}


def test_diagnostics_follow_the_edits(client, tmp_path):
    path = tmp_path / "net.arch"
    bad = "network n {\n  input [3, 32, 32]\n  conv(16, k=3, p=1)\n  flatten; fc(10, q=2)\n}\n"
    seen = len(client.notes)
    _open(client, path, bad)
    [diag] = client.diagnostics(path.as_uri(), seen)
    # The error is on the 4th line, at `fc` (11 characters in): line 3, character 11 from 0.
    assert diag["range"]["start"] == {"line": 3, "character": 11}
    assert "no parameter 'q'" in diag["message"]

    seen = len(client.notes)
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": path.as_uri(), "version": 2},
        "contentChanges": [{"text": bad.replace(", q=2", "")}]})
    assert client.diagnostics(path.as_uri(), seen) == []


def test_an_error_inside_a_block_is_placed_at_the_call_with_its_chain(client, tmp_path):
    path = tmp_path / "chain.arch"
    text = ("block two(w) {\n  conv(w, k=3)\n  flatten; fc(10, q=1)\n}\n\n"
            "network n {\n  input [3, 8, 8]\n  stem: two(4)\n}\n")
    seen = len(client.notes)
    _open(client, path, text)
    [diag] = client.diagnostics(path.as_uri(), seen)
    assert diag["range"]["start"] == {"line": 2, "character": 11}  # fc(10, q=1) in the block
    related = diag["relatedInformation"]
    assert related[0]["message"] == "in call of 'two' here"
    assert related[0]["location"]["range"]["start"] == {"line": 7, "character": 2}


def test_hover_on_resnet50_conv1_shows_its_shape_and_params(client, torchvision_reference):
    family = ZOO / "resnet.arch"
    network = ZOO / "resnet50.arch"
    _open(client, network, network.read_text())
    text = family.read_text()
    _open(client, family, text)
    where = _position(text, "conv1: conv(64, k=7")
    result = client.request("textDocument/hover", {"textDocument": {"uri": family.as_uri()},
                                                   "position": where})
    shown = result["contents"]["value"]
    side = (224 + 2 * 3 - 7) // 2 + 1  # conv 7x7, stride 2, padding 3 on 224x224
    assert f"64x{side}x{side}" in shown
    weight = torchvision_reference["resnet50"]["state_dict"]["conv1.weight"]
    assert f"{math.prod(weight):,} params" in shown  # 9,408
    assert "resnet50" in shown

    # On the network's name: its totals, torchvision's parameter count.
    shown = client.request("textDocument/hover", {
        "textDocument": {"uri": network.as_uri()},
        "position": _position(network.read_text(), "resnet50 =")})["contents"]["value"]
    assert f"{torchvision_reference['resnet50']['params']:,} params" in shown


def test_definition_of_bottleneck_is_the_stdlib_file_and_line(client):
    network = ZOO / "resnet50.arch"
    text = network.read_text()
    _open(client, network, text)
    where = _position(text, "bottleneck, [3")
    [loc] = _as_list(client.request("textDocument/definition", {
        "textDocument": {"uri": network.as_uri()}, "position": where}))
    stdlib = STDLIB / "resnet_blocks.arch"
    assert Path(loc["uri"].removeprefix("file://")).resolve() == stdlib.resolve()
    line = next(i for i, s in enumerate(stdlib.read_text().split("\n"))
                if s.startswith("block bottleneck("))
    assert loc["range"]["start"]["line"] == line

    use = _position(text, '"resnet.arch"')
    [loc] = _as_list(client.request("textDocument/definition", {
        "textDocument": {"uri": network.as_uri()}, "position": use}))
    assert Path(loc["uri"].removeprefix("file://")).resolve() == (ZOO / "resnet.arch").resolve()


def test_hover_of_a_block_completion_and_outline(client, tmp_path):
    path = tmp_path / "mine.arch"
    text = ("# Two convs.\nblock pair(w, k=3) {\n  conv(w, k=k, p=1); relu\n}\n\n"
            "network n {\n  input [3, 8, 8]\n  a: pair(4)\n  b: pair(8, k=1)\n}\n")
    _open(client, path, text)
    uri = {"uri": path.as_uri()}
    shown = client.request("textDocument/hover", {
        "textDocument": uri, "position": _position(text, "pair(4)")})["contents"]["value"]
    assert "block pair(w, k=3)" in shown and "Two convs." in shown
    # The conv inside the block, per call site: 3*4*3*3 + 4 and 4*8*1*1 + 8 params.
    shown = client.request("textDocument/hover", {
        "textDocument": uri, "position": _position(text, "conv(w", 0)})["contents"]["value"]
    assert f"{3 * 4 * 9 + 4:,} params" in shown and f"{4 * 8 + 8:,} params" in shown
    assert "a:" in shown and "b:" in shown

    labels = [i["label"] for i in client.request("textDocument/completion", {
        "textDocument": uri, "position": _position(text, "4)")})["items"]]
    assert "w=" in labels and "k=" in labels and "pair" in labels and "conv" in labels
    symbols = client.request("textDocument/documentSymbol", {"textDocument": uri})
    assert [s["name"] for s in symbols] == ["pair", "n"]


def _as_list(result):
    return result if isinstance(result, list) else [result]


def test_a_session_never_imports_torch(tmp_path):
    code = ("import sys; from archdsl.cli import main; rc = main(['lsp']); "
            "sys.stderr.write('TORCH' if 'torch' in sys.modules else 'NO-TORCH'); sys.exit(rc)")
    c = _start(Client(tmp_path, [sys.executable, "-c", code]))
    network = ZOO / "resnet50.arch"
    _open(c, network, network.read_text())
    text = (ZOO / "resnet.arch").read_text()
    _open(c, ZOO / "resnet.arch", text)
    c.request("textDocument/hover", {"textDocument": {"uri": (ZOO / "resnet.arch").as_uri()},
                                     "position": _position(text, "conv1: conv(64, k=7")})
    c.close()
    assert c.proc.returncode == 0
    assert c.proc.stderr.read().decode().endswith("NO-TORCH")


def test_positions_count_utf16_code_units(client, tmp_path):
    # Two characters outside the BMP before the error on its line: 2 UTF-16 units each, as
    # the protocol counts columns by default.
    path = tmp_path / "wide.arch"
    line = '  let s = "\U0001F600\U0001F600"; flatten; fc(10, q=1)'
    text = "network n {\n  input [3, 4, 4]\n" + line + "\n}\n"
    seen = len(client.notes)
    _open(client, path, text)
    [diag] = client.diagnostics(path.as_uri(), seen)
    start = line.index("fc(")
    assert diag["range"]["start"] == {
        "line": 2, "character": len(line[:start].encode("utf-16-le")) // 2}
    assert start + 2 == diag["range"]["start"]["character"]
