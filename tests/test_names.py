"""Names (archdsl/names.py): a statement may not take a name of torch.nn.Module's attributes,
refused by `check` at the statement (issue 16, item 5), and the list the language keeps is
the one the installed torch has."""
from __future__ import annotations

import pytest

from archdsl.names import TORCH_ATTRIBUTES
from helpers import net, one_error, write


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
