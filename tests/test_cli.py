"""The command line: every error path exits 1 with one clear message, every command has
--help, the top-level help lists them all."""
from __future__ import annotations

import re

import pytest

from archdsl.cli import build_parser
from helpers import TINY, net, one_error, write


def _cli_cases(tmp_path):
    write(tmp_path, "tiny.arch", TINY)
    write(tmp_path, "two.arch", "network a { input [3, 8, 8]; relu }\n"
                                "network b { input [3, 8, 8]; relu }\n")
    write(tmp_path, "blocks.arch", "block b() { relu }\n")
    write(tmp_path, "bad.arch", net("conv(4, k=3 p=1)"))
    (tmp_path / "latin.arch").write_bytes(b"network m { input [3, 8, 8] } # \xe9\n")
    (tmp_path / "dir.arch").mkdir()
    (tmp_path / "exists.py").write_text("")
    (tmp_path / "exists.dot").write_text("")
    return [
        # (argv, fragment of the one error message)
        ([], "the following arguments are required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
        (["check"], "the following arguments are required: FILE"),
        (["check", "missing.arch"], "missing.arch: error: no such file"),
        (["check", "dir.arch"], "is a directory"),
        (["check", "latin.arch"], "latin.arch:1:33: error: not UTF-8 text (byte 0xe9)"),
        (["check", "bad.arch"], "bad.arch:3:15: error: unexpected"),
        (["check", "zoo:nope"], "the zoo has no network 'nope'"),
        (["check", "--max-nodes", "many", "tiny.arch"], "expected a positive integer"),
        (["summary", "two.arch"], "defines several networks (a, b); choose one with --network"),
        (["summary", "blocks.arch"], "defines no network"),
        (["summary", "tiny.arch", "--network", "nope"], "no network named 'nope'"),
        (["summary", "tiny.arch", "--input", "3,0,8"], "expected C,H,W of positive integers"),
        (["summary", "tiny.arch", "--input", "abc"], "expected C,H,W"),
        (["summary", "tiny.arch", "--input", "5"], "conv needs a [C, H, W] input"),
        (["summary", "tiny.arch", "--depth", "x"], "expected 0 or a positive integer"),
        (["summary", "tiny.arch", "--bogus"], "unrecognized arguments: --bogus"),
        (["eval", "1 +"], "invalid expression"),
        (["eval", "x", "-D", "y"], "expected NAME=VALUE"),
        (["eval", "a", "-D", "a=1 +"], "invalid expression"),
        (["eval", "a", "--file", "missing.arch"], "no such file"),
        (["compile", "tiny.arch", "-o", "exists.py"], "exists; pass --force"),
        (["compile", "tiny.arch", "-o", "out.txt"], "the suffix must be one of"),
        (["compile", "tiny.arch", "--device", "tpu"], "expected cpu, cuda"),
        (["compile", "tiny.arch", "--dtype", "int8"], "invalid choice: 'int8'"),
        (["compile", "tiny.arch", "--batch", "0"], "--batch must be positive"),
        (["compile", "tiny.arch", "--max-params", "10"], "more than the limit of 10"),
        (["render", "tiny.arch", "-o", "exists.dot"], "exists; pass --force"),
        (["render", "tiny.arch", "-o", "out.xyz"], "cannot tell the format"),
        (["render", "tiny.arch", "-o", "out.dot", "--scope", "nope"], "no scope named 'nope'"),
        (["zoo", "--json", "--markdown"], "not allowed with argument --json"),
        (["search", "missing.arch"], "no such file"),
        (["search", "tiny.arch"], "defines no space"),
    ]


def test_every_error_path_exits_1_with_one_clear_message(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    seen = set()
    for argv, fragment in _cli_cases(tmp_path):
        if argv and argv[0] in ("compile",):
            pytest.importorskip("torch")
        if argv and argv[0] not in commands and argv[0] != "nope":
            continue  # a command another part of the project has not landed yet
        code, out, err = run_cli(*argv)
        assert code == 1, argv
        msg = one_error(code, err)
        assert fragment in msg, (argv, err)
        seen.add(argv[0] if argv else "")
    assert {"check", "summary", "eval", "compile"} <= seen
    assert not list(tmp_path.glob("out.*")) and not list(tmp_path.glob(".*.tmp"))


def _commands():
    sub = build_parser()._subparsers._group_actions[0]
    return sorted(sub.choices.items())


@pytest.mark.parametrize("name", [n for n, _ in _commands()])
def test_help_for_every_command(run_cli, name):
    parser = dict(_commands())[name]
    code, out, err = run_cli(name, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: archdsl {name}")
    assert parser.description and len(parser.description) > 20, name
    # argparse re-wraps the description: compare its words
    assert " ".join(parser.description.split()[:6]) in " ".join(out.split())
    for action in parser._actions:
        if action.option_strings and action.help not in (None, "==SUPPRESS=="):
            assert action.option_strings[-1] in out


def test_top_level_help_lists_every_command(run_cli):
    code, out, err = run_cli("--help")
    assert code == 0 and out.startswith("usage: archdsl")
    for name, _ in _commands():
        assert re.search(rf"^\s+{name}\s+\S", out, re.M), name
    code, out, err = run_cli("--version")
    assert code == 0 and re.match(r"\d+\.\d+", out)
