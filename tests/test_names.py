"""Statement names (docs/language.md, "Names"; archdsl/names.py): any name torch.nn accepts for a
submodule is writable, quoted when it is not a plain name (torchvision's RegNet `block1-0`,
MobileNetV3's `block`, a reserved word); the name is the IR's node key and the torch module's
state_dict key. What torch.nn itself accepts is asked of torch.nn (`add_module`), not assumed.
A name of torch.nn.Module's attributes is refused by `check` at the statement (issue 16,
item 5), and the list the language keeps is the one the installed torch has."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.names import TORCH_ATTRIBUTES
from helpers import LOCATED, net, one_error, write

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



@pytest.mark.parametrize("label", ["forward", "training", "__class__", "to", '"_modules"',
                                   '"for{w}"'])
def test_check_refuses_a_layer_named_like_a_module_attribute(run_cli, tmp_path, label):
    """The issue's three names, a string name and a template that makes one."""
    f = write(tmp_path, "m.arch", net(f'let w = "ward"; {label}: conv(8)\n  relu'))
    code, out, err = run_cli("check", f)
    msg = one_error(code, err)
    assert msg.startswith(f"{f}:3:") and "attribute of torch.nn.Module" in msg, msg


def test_other_names_still_build(run_cli, tmp_path):
    f = write(tmp_path, "m.arch", net('forward_conv: conv(8)\n  "{1}forward": relu\n  to_: gap'))
    code, out, err = run_cli("check", f)
    assert (code, err) == (0, ""), err


def test_the_list_covers_the_attributes_of_the_installed_torch():
    """What torch's own dir() says: the backend's refusal is the same set, so nothing `check`
    accepts is refused by `compile` for its name."""
    pytest.importorskip("torch")
    from archdsl.backends.torch_backend import _reserved_names
    assert _reserved_names() <= TORCH_ATTRIBUTES
    assert {"forward", "training", "__class__", "state_dict", "to"} <= TORCH_ATTRIBUTES
