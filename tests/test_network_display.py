"""What a notebook shows for a Network: its repr (name, input, params, FLOPs), `_repr_svg_` (the
diagram at the auto depth) and `_repr_html_` (the summary table); `render()` and `summary()`
take the commands' options and give what the commands give."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

import archdsl
from archdsl.errors import ArchError

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot not installed")


class _Cells(HTMLParser):
    """The <table>s of an HTML text, each as its rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _svg_texts(svg: str) -> set:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return {"".join(el.itertext()).strip() for el in root.iter()
            if el.tag.endswith("}text") or el.tag.endswith("}title")}


def test_repr_names_the_network_input_params_and_flops(torchvision_reference):
    ref = torchvision_reference["resnet18"]
    text = repr(archdsl.load("zoo:resnet18"))
    assert text.startswith("<Network resnet18: input 3x224x224, ")
    assert f"{ref['params']:,} params" in text
    # torchvision's 1.81 G conv and fc multiply-adds, plus the pools': still 1.8x G.
    assert " 1.8" in text and " G FLOPs" in text


@needs_dot
def test_repr_svg_of_googlenet_names_every_inception_module(torchvision_reference):
    modules = {k.split(".")[0] for k in torchvision_reference["googlenet"]["state_dict"]
               if k.startswith("inception")}
    assert len(modules) == 9  # inception3a ... inception5b
    net = archdsl.load("zoo:googlenet")
    svg = net._repr_svg_()
    words = {w for t in _svg_texts(svg) for w in t.split()}
    assert modules <= words


def test_repr_svg_without_dot_is_none(monkeypatch):
    from archdsl.render import dot
    monkeypatch.setattr(dot, "find_dot", lambda: None)
    assert archdsl.load("zoo:resnet18")._repr_svg_() is None


def test_repr_html_is_the_summary_table(torchvision_reference):
    ref = torchvision_reference["resnet18"]
    net = archdsl.load("zoo:resnet18")
    parser = _Cells()
    parser.feed(net._repr_html_())
    assert len(parser.tables) == 1
    rows = parser.tables[0]
    assert rows[0] == ["layer", "op", "output", "memory KiB", "params", "flops"]
    body = [r for r in rows[1:] if len(r) == 6 and r[0] != "total"]
    # One row per layer; those with parameters are the modules of torchvision's state_dict.
    owners = {r[0] for r in body if r[4] != "0"}
    assert owners == {k.rsplit(".", 1)[0] for k in ref["state_dict"]}
    total = next(r for r in rows if r[0] == "total")
    assert total[4] == f"{ref['params']:,}"
    assert any(r[0] == "params size" and r[-1] == f"{ref['params'] * 4 / 2 ** 20:.2f} MiB"
               for r in rows)


def test_summary_mirrors_the_command(run_cli):
    code, out, _ = run_cli("summary", "zoo:resnet18", "--batch", "4", "--dtype", "float16",
                           "--depth", "1", "--json")
    assert code == 0
    net = archdsl.load("zoo:resnet18")
    assert net.summary(batch=4, dtype="float16", depth=1) == json.loads(out)
    for bad in ({"batch": 0}, {"batch": 2.5}, {"dtype": "int8"}, {"depth": "1"}):
        with pytest.raises(ArchError):
            net.summary(**bad)


@needs_dot
def test_render_mirrors_the_command(run_cli, tmp_path):
    net = archdsl.load("zoo:resnet18")
    code, out, _ = run_cli("render", "zoo:resnet18", "--depth", "1", "-o", tmp_path / "a.dot")
    assert code == 0
    info = net.render(tmp_path / "b.dot", depth=1)
    assert (tmp_path / "b.dot").read_text() == (tmp_path / "a.dot").read_text()
    assert f"{info['nodes']} nodes, {info['edges']} edges" in out
    assert net.render("-", depth=1) == (tmp_path / "a.dot").read_text()
    with pytest.raises(ArchError):  # never over an existing file without force
        net.render(tmp_path / "b.dot", depth=1)
    picture = net.render(depth="full", scope="layer2", annotate="shapes,params")
    assert picture._repr_svg_() == str(picture)
    assert {"layer2.0.conv1", "layer2.0.downsample.0"} <= {
        w for t in _svg_texts(str(picture)) for w in t.split()}
