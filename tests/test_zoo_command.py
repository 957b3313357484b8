"""`archdsl zoo`: the list of zoo networks, checked against torchvision's figures, and the
README's zoo table, which must be the command's `--markdown` output."""
from __future__ import annotations

import json

from conftest import ROOT
from test_zoo_torchvision import FAMILIES, PART_A


def test_json_lists_part_a_with_torchvision_figures(run_cli, torchvision_reference):
    code, out, err = run_cli("zoo", "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    for name, tv in PART_A.items():
        if name == "vgg13_bn":
            continue  # not in the reference file; see test_zoo_torchvision
        ref = torchvision_reference[tv]
        assert rows[name]["params"] == ref["params"], name
        assert rows[name]["macs"] == ref["macs"], name
        assert rows[name]["input"] == ref["input"], name
    for family in FAMILIES:
        if family not in PART_A:  # parametric families are listed through their members
            assert family not in rows
    assert all(r["description"] and not r["description"].startswith("#") for r in rows.values())


def test_markdown_table_and_readme(run_cli):
    code, out, _ = run_cli("zoo", "--markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "| network | input | params | GFLOPs | description |"
    row = next(line for line in lines if line.startswith("| `resnext50` |"))
    # torchvision publishes resnext50_32x4d as 25,028,904 params and 4.23 GFLOPS.
    assert "| 3x224x224 | 25,028,904 | 4.23 |" in row
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- BEGIN zoo -->"):readme.index("<!-- END zoo -->")]
    assert out in section, ("README's zoo table is stale: paste the output of "
                            "`archdsl zoo --markdown` between the zoo markers")


def test_plain_table_and_exclusive_formats(run_cli):
    code, out, _ = run_cli("zoo")
    assert code == 0 and "resnext101_64x4d" in out
    code, _, err = run_cli("zoo", "--json", "--markdown")
    assert code == 1 and "not allowed with" in err
