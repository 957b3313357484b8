"""Did-you-mean suggestions (archdsl/suggest.py, issue 11 item 6): the issue's cases through
the command line and the API, and the rule checked against CPython's own suggestions (the
`Did you mean: 'x'?` of an AttributeError, Python/suggestions.c), which it follows."""
from __future__ import annotations

import subprocess
import sys

import pytest

import archdsl
from archdsl import ops
from archdsl.errors import ArchError
from archdsl.suggest import closest
from helpers import TINY, net, one_error, write


@pytest.mark.parametrize("body, message", [
    ("Conv(8)", "unknown op or block 'Conv'; did you mean 'conv'?"),
    ("conv(8); rellu", "unknown op or block 'rellu'; did you mean 'relu'?"),
    ("conv(8); botleneck(4)", "unknown op or block 'botleneck'; did you mean 'bottleneck'?"),
    ("conv(8, kk=3)", "conv has no parameter 'kk'; did you mean 'k'? (it takes out, k, s,"),
    ("let width = 4; conv(widht)", "unknown name 'widht'; did you mean 'width'?"),
    ("conv(maxx(1, 2))", "unknown name 'maxx'; did you mean 'max'?"),
    ("a: conv(8); b: relu from aa", "unknown name 'aa' in from; did you mean 'a'?"),
    ("zzzzzz(3)", "unknown op or block 'zzzzzz'"),
])
def test_check_suggests_the_name_meant(run_cli, tmp_path, body, message):
    f = write(tmp_path, "m.arch", net(body))
    msg = one_error(*run_cli("check", f)[::2])
    assert message in msg and msg.startswith(f"{f}:3:"), msg
    if "zzzzzz" in body:
        assert "did you mean" not in msg


def test_zoo_networks_and_network_names(run_cli, tmp_path):
    msg = one_error(*run_cli("check", "zoo:resnet5")[::2])
    assert "the zoo has no network 'resnet5'; did you mean 'resnet50'?" in msg
    msg = one_error(*run_cli("check", "zoo:nope")[::2])
    assert "the zoo has no network 'nope'; it has: alexnet" in msg  # no near name: the list
    f = write(tmp_path, "tiny.arch", TINY)
    msg = one_error(*run_cli("summary", f, "--network", "tinny")[::2])
    assert "no network named 'tinny'; did you mean 'tiny'?" in msg
    with pytest.raises(ArchError, match="has no parameter 'clases'; did you mean 'classes'?"):
        archdsl.load("zoo:resnet18", clases=10)


def _python_suggests(name: str, candidates) -> str | None:
    """What CPython itself suggests for `name` among `candidates` (attributes of an object:
    its dir() also holds the object's dunder names, which are never close to these)."""
    code = ("import types\nns = types.SimpleNamespace(**{n: 0 for n in %r})\nns.%s\n"
            % (sorted(candidates), name))
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stderr
    last = err.strip().splitlines()[-1]
    assert last.startswith("AttributeError"), err
    return last.split("Did you mean: '")[1].rstrip("'?") if "Did you mean" in last else None


OP_NAMES = sorted(set(ops.OPS) | set(ops.ALIASES))
BLOCKS = ["basic", "bottleneck", "se", "fire", "projection", "transition", "dense_layer"]
CASES = [
    ("rellu", OP_NAMES), ("lineear", OP_NAMES), ("maxpol", OP_NAMES), ("avgpool2", OP_NAMES),
    ("dropot", OP_NAMES), ("flaten", OP_NAMES), ("concta", OP_NAMES), ("zzzzzz", OP_NAMES),
    ("gp", OP_NAMES), ("Relu", OP_NAMES), ("botleneck", BLOCKS), ("basik", BLOCKS),
    ("dense", BLOCKS), ("widht", ["width", "depth", "stride"]), ("strid", ["stride", "s"]),
    ("kk", ["out", "k", "s", "p", "d", "groups", "bias", "table"]),
    ("grups", ["out", "k", "s", "p", "d", "groups", "bias", "table"]),
    ("densenet12", ["densenet121", "densenet161", "densenet169", "densenet201"]),
    ("vgg16bn", ["vgg16", "vgg16_bn", "vgg19_bn"]), ("alexnat", ["alexnet", "zfnet"]),
]


@pytest.mark.parametrize("name, candidates", CASES, ids=[c[0] for c in CASES])
def test_the_rule_is_pythons(name, candidates):
    assert closest(name, candidates) == _python_suggests(name, candidates)


def test_two_additions_to_pythons_rule():
    """A name that differs only in case is suggested however long it is (Python says
    nothing for CONV); at equal cost a name that extends what was typed wins (Python's
    alphabetical order would say resnet for resnet5)."""
    assert _python_suggests("CONV", OP_NAMES) is None
    assert closest("CONV", OP_NAMES) == "conv"
    zoo = ["resnet", "resnet18", "resnet50", "resnet56"]
    assert _python_suggests("resnet5", zoo) == "resnet"
    assert closest("resnet5", zoo) == "resnet50"
