"""Statement names (README, "Names"): any name torch.nn accepts for a submodule is writable,
quoted when it is not a plain name (torchvision's RegNet `block1-0`, MobileNetV3's `block`,
a reserved word); the name is the IR's node key and the torch module's state_dict key.
What torch.nn itself accepts is asked of torch.nn (`add_module`), not assumed."""
from __future__ import annotations

import pytest

import archdsl
from helpers import LOCATED, one_error, write

NAMES = """network n {
  input [3, 8, 8]
  trunk_output: {
    "block1": { "block1-0": { "block": conv(4, k=3, p=1, bias=false); bn; relu } }
    "a b": conv(4)
    "{{x}}-{2 * 3}": conv(4)
  }
  c: concat from trunk_output.block1."block1-0", trunk_output."a b"
  gap; flatten; fc: fc(2)
}
"""


def test_quoted_names_are_ir_keys_and_state_dict_keys():
    import torch.nn as nn
    net = archdsl.load(text=NAMES)
    keys = set(net.graph.nodes)
    assert {"trunk_output.block1.block1-0.block", "trunk_output.a b",
            "trunk_output.{x}-6", "c"} <= keys
    assert net.graph.nodes["c"]["shape"] == (8, 8, 8)  # `from` reached both quoted names
    sd = net.to_torch(device="meta").state_dict()
    assert "trunk_output.block1.block1-0.block.weight" in sd
    assert "trunk_output.block1.block1-0.1.running_var" in sd
    assert "trunk_output.a b.bias" in sd and "trunk_output.{x}-6.weight" in sd
    for name in ("block1-0", "block", "a b", "{x}-6"):  # torch.nn takes each as it is
        nn.Module().add_module(name, nn.Identity())


def test_quoted_names_survive_compile_to_a_py_file(tmp_path, run_cli):
    src = write(tmp_path, "n.arch", NAMES)
    code, out, err = run_cli("compile", src, "-o", tmp_path / "n.py")
    assert code == 0, err
    text = (tmp_path / "n.py").read_text()
    assert "block1-0" in text and "a b" in text


@pytest.mark.parametrize("label, message", [
    ('""', "a name must not be empty"),
    ('"a.b"', "must not hold '.'"),
    ('"l{1 / 2}"', "must not hold '.'"),  # the template's value 0.5 holds a dot
    ('"x#1"', "must not hold '#'"),
    ('"in"', "'in' cannot name a statement"),
])
def test_names_torch_or_archdsl_cannot_take_are_located_errors(tmp_path, run_cli, label, message):
    import torch.nn as nn
    src = write(tmp_path, "bad.arch", f"network bad {{\n  input [3, 8, 8]\n  {label}: conv(4)\n}}\n")
    code, out, err = run_cli("check", src)
    line = one_error(code, err)
    assert LOCATED.match(line) and message in line and ":3:3:" in line, err
    if label in ('""', '"a.b"'):  # what torch.nn refuses too
        with pytest.raises(KeyError):
            nn.Module().add_module(label.strip('"'), nn.Identity())
