"""Highlighting: the Pygments lexer (`archdsl/highlight.py`) and the VS Code extension
(`editors/vscode/`: its TextMate grammar run by the real vscode-textmate engine, and its client
run against a stand-in server by the real vscode-languageclient).

What the tests hold the highlighters to, from outside them: the grammar file (its terminals,
and whatever its Lark lexer accepts), the files the project ships, the README and the
language reference docs/language.md (their `arch` blocks, the reference's table of ops), the
language's reserved words as the reference lists them, the evaluator's own reply to a bare
builtin name, and each engine against the other.
"""
from __future__ import annotations

import json
import random
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import lark
import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation,
                            String)

from archdsl import highlight
from archdsl.highlight import ArchdslLexer

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR_TEXT = (ROOT / "grammars" / "archdsl.lark").read_text(encoding="utf-8")
SHIPPED_GLOBS = ("zoo/**/*.arch", "archdsl/stdlib/*.arch", "search/*.arch", "tests/data/*.arch")
SHIPPED = sorted({p for g in SHIPPED_GLOBS for p in ROOT.glob(g)})

# docs/language.md, "Expressions": the reserved words (test_syntax.py checks that list).
RESERVED = ("x in from use let for if else parallel residual shortcut dense aux block network "
            "space param require input true false none and or not").split()


def lex(text: str) -> list:
    """(offset, token type, text) triples; the text must use \\n line ends."""
    return list(ArchdslLexer().get_tokens_unprocessed(text))


def errors(text: str) -> list:
    return [(i, v) for i, t, v in lex(text) if t in Error]


def kinds(text: str) -> dict:
    """Each non-blank token's text -> its type, for snippets whose tokens are distinct."""
    return {v: t for _, t, v in lex(text) if v.strip()}


# ============================================================================ Pygments


def test_the_lexer_is_the_installed_pygments_plugin_for_arch_files():
    # The entry point in pyproject.toml, as an installed plugin (pip install -e .).
    assert type(get_lexer_by_name("archdsl")) is ArchdslLexer
    assert type(get_lexer_by_name("arch")) is ArchdslLexer
    assert type(get_lexer_for_filename("resnet50.arch")) is ArchdslLexer


def test_pygmentize_colours_a_zoo_file():
    pygmentize = Path(sys.executable).with_name("pygmentize")
    command = [str(pygmentize)] if pygmentize.exists() else [sys.executable, "-m", "pygments"]
    done = subprocess.run(command + ["-l", "archdsl", "-f", "raw", str(ROOT / "zoo/resnet50.arch")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Token.Keyword.Declaration\t'network'" in done.stdout
    assert "Token.Error" not in done.stdout


def test_the_shipped_corpus_is_there():
    names = {p.relative_to(ROOT).as_posix() for p in SHIPPED}
    assert {"zoo/resnet50.arch", "archdsl/stdlib/resnet_blocks.arch", "search/resnext.arch",
            "tests/data/language_example.arch"} <= names
    assert len(SHIPPED) > 50


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shipped_file_lexes_without_an_error_token(path):
    text = path.read_text(encoding="utf-8")
    tokens = list(ArchdslLexer().get_tokens(text))
    bad = [v for t, v in tokens if t in Error]
    assert not bad, f"{path}: error tokens {bad[:5]}"
    assert "".join(v for _, v in tokens) == text.replace("\r\n", "\n") + ("" if text.endswith("\n") else "\n")


DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "language.md")  # where `arch` blocks are shown


def readme_blocks(tag: str) -> list:
    """The fenced blocks tagged `tag` ("" for untagged) of the README and docs/language.md.
    Fences pair in order (a regex from "```" to "```" would also take a closing fence for an
    opening one, and the prose after it for a block)."""
    blocks = []
    for doc in DOCUMENTS:
        info, lines = None, []
        for line in doc.read_text(encoding="utf-8").splitlines():
            if info is None and line.startswith("```"):
                info, lines = line[3:].strip(), []
            elif info is not None and line.startswith("```"):
                if info == tag:
                    blocks.append("".join(f"{x}\n" for x in lines))
                info = None
            elif info is not None:
                lines.append(line)
    return blocks


def test_the_readme_tags_its_arch_blocks_and_they_lex_cleanly():
    blocks = readme_blocks("arch")
    # Statements, top level, a zoo alias, a search space at least.
    assert len(blocks) >= 4
    assert any("space resnext" in b for b in blocks) and any("dense for" in b for b in blocks)
    for block in blocks:
        assert not errors(block), block
    # No untagged block that is plainly .arch (a `network`/`block` definition or `use`).
    for block in readme_blocks(""):
        assert not re.search(r"^(use \"|network \w+ [={(]|block \w+[ ({])", block, re.M), block


def test_reserved_words_are_keywords():
    for word in RESERVED:
        kind = kinds(word)[word]
        assert kind in Keyword, (word, kind)
    assert kinds("true false none")["none"] is Keyword.Constant
    assert kinds("block b { relu }")["block"] in Keyword
    # A reserved word inside a longer name is not one.
    assert kinds("xs = input_size")["xs"] is Name
    assert kinds("xs = input_size")["input_size"] is Name


def test_ops_and_builtins_are_builtin_names():
    k = kinds("conv1: conv(64, k=7); bn1: bn; relu; let n = len(range(3)); solve(x == 2, c)")
    assert k["conv"] is Name.Builtin and k["bn"] is Name.Builtin and k["relu"] is Name.Builtin
    assert k["len"] is Name.Builtin and k["range"] is Name.Builtin and k["solve"] is Name.Builtin
    assert k["conv1"] is Name.Label and k["bn1"] is Name.Label
    assert k["k"] is Name and k["n"] is Name
    assert kinds("require flops <= budget")["flops"] is Name.Builtin


def test_every_op_the_language_reference_documents_is_a_builtin_name():
    reference = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = reference[reference.index("## Primitive ops"):reference.index("## Cost model")]
    documented = set(re.findall(r"^\| `([a-z_0-9]+)", section, re.M))
    assert {"conv", "bn", "fc", "maxpool", "concat"} <= documented
    for op in documented:
        assert kinds(f"{op}(1)")[op] is Name.Builtin, op


@pytest.mark.parametrize("name", sorted(highlight.SPECIAL_FORMS))
def test_the_special_forms_are_builtins_to_the_evaluator(name):
    # The evaluator handles these before its BUILTINS table; its error for a bare use says what
    # it takes them for.
    done = subprocess.run([sys.executable, "-m", "archdsl", "eval", name], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert f"'{name}' is a builtin function" in done.stderr


def test_numbers_with_suffixes_are_one_token():
    for text, kind in (("4.1G", Number.Float), ("100M", Number.Integer), ("5k", Number.Integer),
                       ("1e-3", Number.Float), (".5", Number.Float), ("2.", Number.Float),
                       ("64", Number.Integer)):
        tokens = [(t, v) for _, t, v in lex(text) if v.strip()]
        assert tokens == [(kind, text)], text


def test_path_parts_after_a_dot_are_not_numbers_or_ops():
    tokens = [(t, v) for _, t, v in lex("cat: concat from layer1.0.conv, in.c") if v.strip()]
    assert tokens[4:9] == [(Name, "layer1"), (Punctuation, "."), (Number.Integer, "0"),
                           (Punctuation, "."), (Name, "conv")]
    assert tokens[-3:] == [(Keyword, "in"), (Punctuation, "."), (Name, "c")]


def test_a_name_template_is_a_string_with_an_interpolation():
    tokens = [(t, v) for _, t, v in lex('"denselayer{i + 1}": dense_layer(32)') if v.strip()]
    assert tokens[:8] == [(String.Double, '"'), (String.Double, "denselayer"),
                          (String.Interpol, "{"), (Name, "i"), (Operator, "+"),
                          (Number.Integer, "1"), (String.Interpol, "}"), (String.Double, '"')]
    assert tokens[8] == (Punctuation, ":")
    # Braces that enclose no template, and escapes, stay string text.
    plain = [t for _, t, v in lex(r'use "a}b{c\"d.arch"')][2:]
    assert all(t in String for t in plain) and String.Interpol not in plain
    assert (String.Escape, r"\"") in [(t, v) for _, t, v in lex(r'"a\"b"')]


def test_comments_definitions_and_operators():
    k = kinds("block unit(w, k=3) { conv(w // 2 ** k) }  # a unit\nnetwork n = resnet(basic)")
    assert k["# a unit"] is Comment.Single
    assert k["unit"] is Name.Function and k["n"] is Name.Function
    assert k["block"] is Keyword.Declaration and k["network"] is Keyword.Declaration
    assert k["//"] is Operator and k["**"] is Operator and k["="] is Operator
    assert kinds("if a != b { relu } else { identity }")["!="] is Operator


def test_unexpected_characters_are_errors():
    assert errors("conv(64) @ relu") == [(9, "@")]
    assert errors("let a = 1 ¤") == [(10, "¤")]
    assert errors('"unterminated\nrelu') == [(13, "\n")]


def test_the_lexer_copies_the_grammars_terminals():
    terminals = dict(re.findall(r"^([A-Z_]+): /(.*)/$", GRAMMAR_TEXT, re.M))
    assert terminals["NAME"] == highlight.NAME
    assert terminals["NUMBER"] == highlight.NUMBER
    assert terminals["COMMENT"] == highlight.COMMENT
    assert set(RESERVED) == highlight.reserved_words()


# ---------------------------------------------------------------- lexical soup
# Random token sequences, kept when the grammar's own Lark lexer accepts them: whatever it
# accepts, the highlighters must accept (no Error token, no `invalid` scope).

_LARK_LEXER = lark.Lark(GRAMMAR_TEXT, parser="lalr", lexer="basic", start=["start"])
_ODD_TEXT = "é¤𝔵\t\x7f{}\"'@$"


def lark_accepts(text: str) -> bool:
    try:
        for _ in _LARK_LEXER.lex(text):
            pass
    except lark.exceptions.UnexpectedInput:
        return False
    return True


def _fragment(rng: random.Random) -> str:
    w = highlight.words()
    kind = rng.randrange(12)
    if kind == 0:
        return rng.choice(sorted(w.keywords | w.constants))
    if kind == 1:
        return rng.choice(sorted(w.ops | w.builtins))
    if kind == 2:
        return rng.choice(["a", "b2", "_x", "layer1", "conv_block", "xs", "input_size", "innet"])
    if kind == 3:
        mantissa = rng.choice(["0", "64", "4.1", "2.", ".5", "1e5", "3E-2", "007"])
        return mantissa + rng.choice(["", "", "k", "M", "G"])
    if kind == 4:
        body = "".join(rng.choice(["a", "b", " ", "{i + 1}", "{", "}", r"\"", r"\n", "\\\\",
                                   "{n*2}", "{x", "é", "#", "{a;b}", "{!}"])
                       for _ in range(rng.randrange(5)))
        return f'"{body}"'
    if kind == 5:
        return "#" + "".join(rng.choice(" a{\"¤é") for _ in range(rng.randrange(6)))
    if kind == 6:
        return rng.choice(["**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/",
                           "%", "^", "="])
    if kind == 7:
        return rng.choice(list("()[]{},:.;"))
    if kind == 8:
        return rng.choice(["\n", "\n  ", ";", "\\\n", "\f"])
    if kind == 9:
        return rng.choice(["block", "network", "space"]) + " " + rng.choice(["a", "unit", "n1"])
    if kind == 10:
        return rng.choice(["a", "conv1", "stem", "relu"]) + rng.choice(["", " "]) + ":"
    return rng.choice(_ODD_TEXT)


def lexical_soup(count: int, seed: int = 15) -> list:
    rng = random.Random(seed)
    texts = []
    while len(texts) < count:
        text = rng.choice(["", " "]).join(_fragment(rng) for _ in range(rng.randrange(1, 12)))
        if lark_accepts(text):
            texts.append(text)
    return texts


SOUP = lexical_soup(1500)


def test_whatever_the_grammars_lexer_accepts_lexes_without_errors():
    assert any("{i + 1}" in t for t in SOUP) and any("\\\n" in t for t in SOUP)
    for text in SOUP:
        assert not errors(text), (text, errors(text))


# ============================================================================ VS Code

GRAMMAR_JSON = VSCODE / "syntaxes" / "archdsl.tmLanguage.json"
NODE = shutil.which("node")


def need_node_modules():
    if NODE is None:
        pytest.skip("node is not installed (needed to run the VS Code extension's tests)")
    if not (VSCODE / "node_modules" / "vscode-textmate").is_dir():
        pytest.skip("editors/vscode/node_modules is missing: run `npm ci` in editors/vscode")


def run_node(script: str, *args, stdin: str | None = None, timeout: int = 120):
    return subprocess.run([NODE, str(VSCODE / "test" / script), *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, cwd=VSCODE)


def textmate(texts: list) -> list:
    done = run_node("tokenize.js", "--json", stdin=json.dumps(texts))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_extension_manifest_wires_grammar_configuration_and_client():
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    language = manifest["contributes"]["languages"][0]
    assert language["id"] == "archdsl" and ".arch" in language["extensions"]
    assert (VSCODE / language["configuration"]).is_file()
    grammar = manifest["contributes"]["grammars"][0]
    assert grammar["scopeName"] == json.loads(GRAMMAR_JSON.read_text())["scopeName"]
    assert (VSCODE / grammar["path"]).resolve() == GRAMMAR_JSON
    assert "onLanguage:archdsl" in manifest["activationEvents"]
    assert (VSCODE / manifest["main"]).is_file()
    setting = manifest["contributes"]["configuration"]["properties"]["archdsl.server.path"]
    assert setting["default"] == "archdsl"
    configuration = json.loads((VSCODE / "language-configuration.json").read_text())
    assert configuration["comments"]["lineComment"] == "#"
    increase = re.compile(configuration["indentationRules"]["increaseIndentPattern"])
    assert increase.match("block unit(w) {") and not increase.match("features: { relu }")
    # Exact versions, locked: the test engine is the one the lock file names.
    lock = json.loads((VSCODE / "package-lock.json").read_text())
    for name, version in manifest["devDependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), name
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_the_textmate_word_lists_are_the_languages():
    done = subprocess.run([sys.executable, str(VSCODE / "update_words.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_textmate_tokenizes_every_shipped_file_without_invalid_tokens():
    need_node_modules()
    done = run_node("tokenize.js")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(SHIPPED)} files" in done.stdout and "no invalid tokens" in done.stdout


def test_textmate_marks_unexpected_characters_invalid():
    need_node_modules()
    [tokens] = textmate(["conv(64) @ relu ¤"])
    invalid = [(t["start"], t["end"]) for t in tokens
               if any(s.startswith("invalid.illegal") for s in t["scopes"])]
    assert invalid == [(9, 10), (16, 17)]
    # And the command-line mode reports where.
    bad = VSCODE / "test" / "_bad.arch"
    try:
        bad.write_text("network n {\n  input [3, 8, 8]; relu @\n}\n")
        done = run_node("tokenize.js", str(bad))
    finally:
        bad.unlink()
    assert done.returncode == 1
    assert "_bad.arch:2:25:" in done.stdout


def pygments_class(kind) -> str | None:
    for token, name in ((Error, "error"), (Comment, "comment"), (Keyword.Constant, "constant"),
                        (Keyword, "keyword"), (Number, "number"),
                        (String.Interpol, "interpolation"), (String, "string"),
                        (Name.Builtin, "builtin"), (Name.Label, "label"),
                        (Name.Function, "definition"), (Name, "name"), (Operator, "operator"),
                        (Punctuation, "punctuation")):
        if kind in token:
            return name
    return None


# Scope prefixes, most specific first; a token's class is that of its innermost scope that
# has one.
TEXTMATE_CLASSES = (
    ("invalid", "error"), ("comment", "comment"), ("punctuation.definition.comment", "comment"),
    ("constant.language", "constant"), ("storage.type", "keyword"),
    ("keyword.operator.logical", "keyword"), ("keyword.operator", "operator"),
    ("keyword", "keyword"), ("constant.numeric", "number"),
    ("punctuation.section.interpolation", "interpolation"),
    ("punctuation.definition.string", "string"), ("constant.character.escape", "string"),
    ("string", "string"), ("support.function", "builtin"), ("entity.name.label", "label"),
    ("entity.name.function", "definition"), ("variable", "name"), ("punctuation", "punctuation"),
)


def textmate_class(scopes) -> str | None:
    for scope in reversed(scopes):
        for prefix, name in TEXTMATE_CLASSES:
            if scope == prefix or scope.startswith(prefix + "."):
                return name
    return None


def classes_by_character(text: str, pygments_tokens, textmate_tokens) -> tuple:
    """Per non-blank character of text, its class under each engine."""
    py = [None] * len(text)
    for offset, kind, value in pygments_tokens:
        for i in range(offset, offset + len(value)):
            py[i] = pygments_class(kind)
    tm = [None] * len(text)
    for t in textmate_tokens:
        for i in range(t["start"], t["end"]):
            tm[i] = textmate_class(t["scopes"])
    keep = [i for i, ch in enumerate(text) if not ch.isspace()]
    return [py[i] for i in keep], [tm[i] for i in keep], keep


def assert_engines_agree(texts: list) -> None:
    for text, tm_tokens in zip(texts, textmate(texts)):
        py, tm, keep = classes_by_character(text, lex(text), tm_tokens)
        for (a, b, i) in zip(py, tm, keep):
            assert a == b, (f"{text!r} at {i} ({text[i]!r}): Pygments says {a}, "
                            f"TextMate says {b}")


SNIPPETS = [
    'use "zoo:resnet50"\nnetwork cifar = resnet50(classes=10, image=[3, 32, 32], small_stem=true)',
    'block dense_block(n, growth, bn_size=4, drop=0) {\n'
    '  dense for i in range(n) { "denselayer{i + 1}": dense_layer(growth, bn_size, drop) }\n}',
    "if stride != 1 or in.c != out { downsample: { conv(out, k=1, s=stride); bn } } else { identity }",
    "space s(budget=4.1G) {\n  param w in [16, 32]  # widths\n  require flops <= budget and not false\n"
    "  network vgg_net(w)\n}",
    "cat: concat from layer1.0.conv, in x 2\nlet c = solve(9*G*c^2 + 8*G*C*c - 17*C^2 == 0, c) // 2 ** -1e-3",
    'aux aux1: inception_aux(classes) from inception4a\nlet s = "a\\"b{n}"  # done',
]


def test_both_engines_agree_on_snippets():
    need_node_modules()
    assert_engines_agree(SNIPPETS)


def test_both_engines_agree_on_the_shipped_files_and_the_readme():
    need_node_modules()
    texts = [p.read_text(encoding="utf-8") for p in SHIPPED] + readme_blocks("arch")
    assert_engines_agree(texts)


def test_both_engines_agree_on_what_the_grammars_lexer_accepts():
    need_node_modules()
    for text, tokens in zip(SOUP, textmate(SOUP)):
        invalid = [t for t in tokens if any(s.startswith("invalid") for s in t["scopes"])]
        assert not invalid, (text, invalid)
    assert_engines_agree(SOUP)


# ---------------------------------------------------------------- the client

FAKE_SERVER = r'''
import json, sys
log = open(sys.argv[1], "a")
log.write(json.dumps({"argv": sys.argv[2:]}) + "\n")
def read():
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        if not line.strip():
            break
        key, value = line.decode().split(":", 1)
        if key.lower() == "content-length":
            length = int(value)
    return json.loads(sys.stdin.buffer.read(length))
def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()
while True:
    message = read()
    if message is None:
        break
    log.write(json.dumps({"method": message.get("method"), "params": message.get("params")}) + "\n")
    log.flush()
    if message.get("method") == "initialize":
        send({"jsonrpc": "2.0", "id": message["id"],
              "result": {"capabilities": {"textDocumentSync": 1}, "serverInfo": {"name": "stand-in"}}})
    elif message.get("method") == "shutdown":
        send({"jsonrpc": "2.0", "id": message["id"], "result": None})
    elif message.get("method") == "exit":
        break
'''


def need_client_modules():
    need_node_modules()
    if not (VSCODE / "node_modules" / "vscode-languageclient").is_dir():
        pytest.skip("editors/vscode/node_modules has no vscode-languageclient: run `npm ci`")


def stand_in_server(tmp_path: Path, name: str) -> tuple:
    """An executable that answers the LSP handshake and logs what it was sent."""
    server = tmp_path / "server.py"
    server.write_text(FAKE_SERVER)
    log = tmp_path / f"{name}.log"
    command = tmp_path / name
    command.write_text(f"#!/bin/sh\nexec {sys.executable} {server} {log} \"$@\"\n")
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return command, log


def run_client(tmp_path: Path, scenario: dict) -> dict:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    done = run_node("client.js", str(path), timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def logged(log: Path) -> list:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_client_starts_the_configured_server_over_stdio(tmp_path):
    need_client_modules()
    first, first_log = stand_in_server(tmp_path, "archdsl-a")
    second, second_log = stand_in_server(tmp_path, "archdsl-b")
    text = "network n {\n  input [3, 8, 8]\n  relu\n}\n"
    report = run_client(tmp_path, {"settings": [str(first), str(second)],
                                   "open": {"uri": "file:///work/n.arch", "text": text}})
    assert [c["command"] for c in report["clients"]] == [str(first), str(second)]
    assert all(c["initializeResult"]["serverInfo"]["name"] == "stand-in" for c in report["clients"])
    assert report["messages"] == []
    # `archdsl lsp`, exactly: no --stdio appended.
    a, b = logged(first_log), logged(second_log)
    assert a[0] == {"argv": ["lsp"]} and b[0] == {"argv": ["lsp"]}
    # The first server is shut down when the setting changes; the second gets the document.
    methods_a = [m["method"] for m in a[1:]]
    assert methods_a[:2] == ["initialize", "initialized"] and "shutdown" in methods_a
    assert methods_a[-1] == "exit"
    opened = [m["params"] for m in b[1:] if m["method"] == "textDocument/didOpen"]
    assert opened == [{"textDocument": {"uri": "file:///work/n.arch", "languageId": "archdsl",
                                        "version": 1, "text": text}}]
    assert [m["method"] for m in b[1:]][-2:] == ["shutdown", "exit"]
    initialize = next(m["params"] for m in a[1:] if m["method"] == "initialize")
    assert initialize["capabilities"]["textDocument"]["hover"]  # the client asks for hovers


def test_the_client_says_how_to_fix_a_missing_server(tmp_path):
    need_client_modules()
    missing = tmp_path / "no" / "archdsl"
    report = run_client(tmp_path, {"settings": [str(missing)]})
    assert report["clients"][0]["initializeResult"] is None
    ours = [m for m in report["messages"] if m.startswith("archdsl: could not start")]
    assert len(ours) == 1 and str(missing) in ours[0] and "archdsl.server.path" in ours[0]


def test_the_client_starts_the_real_archdsl_lsp(tmp_path):
    need_client_modules()
    archdsl = Path(sys.executable).with_name("archdsl")
    has_lsp = archdsl.exists() and subprocess.run(
        [str(archdsl), "lsp", "--help"], capture_output=True, timeout=120).returncode == 0
    if not has_lsp:
        pytest.skip("this archdsl has no `lsp` command yet (issue 15, item 1)")
    report = run_client(tmp_path, {"settings": [str(archdsl)]})
    assert report["messages"] == []
    assert report["clients"][0]["initializeResult"]["capabilities"]
