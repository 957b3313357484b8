"""`archdsl render`: diagrams through graphviz's own tools. The facts checked come from outside
the renderer: graphviz parses what we write (`gvpr`, `dot`), GoogLeNet's module names are
Table 1 of the paper (Szegedy et al. 2014), ResNet-50's blocks and their parameters are torchvision's
state_dict layout (reference/torchvision.json)."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from collections import defaultdict

import networkx as nx
import pytest

import archdsl
from archdsl import ir
from helpers import one_error

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot not installed")
needs_gvpr = pytest.mark.skipif(shutil.which("gvpr") is None, reason="graphviz's gvpr missing")

INCEPTION = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]  # GoogLeNet Table 1
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@pytest.fixture(scope="module")
def resnet50():
    return archdsl.load("zoo:resnet50").graph


def gv_graph(path) -> tuple:
    """(nodes, edges) of a DOT file as graphviz's own parser reads it (gvpr, no layout)."""
    prog = 'N{printf("N\\t%s\\n", $.name)} E{printf("E\\t%s\\t%s\\n", $.tail.name, $.head.name)}'
    out = subprocess.run(["gvpr", prog, str(path)], capture_output=True, text=True,
                         check=True).stdout
    nodes, edges = set(), set()
    for line in out.splitlines():
        kind, *rest = line.split("\t")
        (nodes.add(rest[0]) if kind == "N" else edges.add(tuple(rest)))
    return nodes, edges


def torchvision_blocks(ref) -> dict:
    """'layer2.3' -> trainable parameter count, from torchvision's state_dict layout."""
    blocks = defaultdict(int)
    for key, shape in ref["state_dict"].items():
        parts = key.split(".")
        if parts[0].startswith("layer") and not key.endswith(BUFFERS):
            blocks[".".join(parts[:2])] += math.prod(shape)
    return dict(blocks)


@needs_dot
def test_googlenet_depth1_svg_names_every_module_and_aux_head(run_cli, tmp_path):
    out = tmp_path / "googlenet.svg"
    code, stdout, err = run_cli("render", "zoo:googlenet", "--depth", "1", "-o", out)
    assert code == 0, err
    root = ET.parse(out).getroot()  # valid XML
    assert root.tag.endswith("svg")
    text = {t.text for t in root.iter() if t.text and t.text.strip()}
    for m in INCEPTION:
        assert f"inception{m}" in text, m
    assert {"aux1", "aux2"} <= text
    # aux heads are drawn dashed: their clusters' outlines carry a dash pattern
    dashed = [g for g in root.iter("{http://www.w3.org/2000/svg}g")
              if g.get("class") == "cluster" and any(
                  (c.text or "").startswith("cluster_aux") for c in g)]
    assert len(dashed) == 2
    assert all(any(p.get("stroke-dasharray") for p in g.iter() if p.tag.endswith("path"))
               for g in dashed)


@needs_dot
def test_googlenet_branches_in_paper_order(tmp_path):
    """Each inception module's branches (1x1, 3x3, 5x5, pool: Table 1's column order) lie
    left to right, and the aux heads to the right of the main path."""
    from archdsl.render import dot
    src = dot.to_dot(archdsl.load("zoo:googlenet").graph, depth=1)
    plain = subprocess.run(["dot", "-Tplain"], input=src, capture_output=True, text=True,
                           check=True).stdout
    x = {}
    for line in plain.splitlines():
        if line.startswith("node "):
            parts = re.findall(r'"[^"]*"|\S+', line)
            x[parts[1].strip('"')] = float(parts[2])
    for m in INCEPTION:
        xs = [x[f"inception{m}.branch{i}"] for i in range(1, 5)]
        assert xs == sorted(xs), (m, xs)
    assert x["aux1.conv"] > x["inception4b.branch4"]


@needs_dot
def test_resnet50_png_is_a_valid_png(run_cli, tmp_path):
    out = tmp_path / "resnet50.png"
    code, _, err = run_cli("render", "zoo:resnet50", "-o", out)
    assert code == 0, err
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):  # every chunk's CRC holds, IHDR first, IEND last
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert width > 100 and height > 1000  # a tall top-to-bottom picture
    image = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    assert image


@needs_gvpr
def test_full_depth_dot_has_every_ir_edge_and_a_cluster_per_scope(run_cli, resnet50,
                                                                    tmp_path):
    out = tmp_path / "resnet50.dot"
    code, _, err = run_cli("render", "zoo:resnet50", "--depth", "full", "-o", out)
    assert code == 0, err
    nodes, edges = gv_graph(out)
    assert nodes == set(resnet50.nodes)
    assert edges == set(resnet50.edges)
    clusters = set(re.findall(r'subgraph "cluster_([^"]+)"', out.read_text()))
    assert clusters == set(resnet50.graph["scopes"])


def gv_edges(path) -> dict:
    """(tail, head) -> (label, penwidth) of a DOT file's edges, as gvpr reads them; and
    node -> its label."""
    prog = ('N{printf("N\\t%s\\t%s\\n", $.name, $.label)} '
            'E{printf("E\\t%s\\t%s\\t%s\\t%s\\n", $.tail.name, $.head.name, $.label, '
            '$.penwidth)}')
    out = subprocess.run(["gvpr", prog, str(path)], capture_output=True, text=True,
                         check=True).stdout
    edges, labels = {}, {}
    for line in out.splitlines():
        kind, *rest = line.split("\t")
        if kind == "N":
            labels[rest[0]] = rest[1]
        else:
            edges[(rest[0], rest[1])] = (rest[2].strip(), float(rest[3]))
    return edges, labels


def dense_layers(ref) -> dict:
    """'features.denseblock3' -> its number of layers, from torchvision's state_dict."""
    layers = defaultdict(set)
    for key in ref["state_dict"]:
        m = re.match(r"(features\.denseblock\d+)\.(denselayer\d+)\.", key)
        if m:
            layers[m.group(1)].add(m.group(2))
    return {b: len(ls) for b, ls in layers.items()}


@needs_gvpr
def test_dense_blocks_at_full_depth_draw_a_bus_that_stands_for_every_input(
        run_cli, torchvision_reference, tmp_path):
    """DenseNet-121 at full depth: each dense block's concats form one bus (each concat reads
    the previous one and its layer's new output), and the picture stays true: every IR edge is
    drawn or carried by a bus, every concat's label says its real fan-in. The block sizes and
    channel counts are torchvision's (state_dict): blocks of 6, 12, 24 and 16 layers, growth
    32 (a layer's conv2 output), block 3 ending in the 1,024 channels transition3 reads."""
    g = archdsl.load("zoo:densenet121").graph
    ref = torchvision_reference["densenet121"]
    sd = ref["state_dict"]
    out = tmp_path / "d.dot"
    code, stdout, err = run_cli("render", "zoo:densenet121", "--depth", "full", "-o", out)
    assert code == 0, err
    edges, labels = gv_edges(out)
    assert set(labels) == set(g.nodes)
    buses = {e: v for e, v in edges.items() if e not in g.edges}

    expanded = set(edges) - set(buses)
    for tail, head in buses:
        inputs = ir.predecessors(g, head)
        assert g.nodes[tail]["op"] == g.nodes[head]["op"] == "concat"
        assert ir.predecessors(g, tail) == inputs[:-1]  # the bus holds all but head's last input
        assert (inputs[-1], head) in edges        # and the last one is drawn into head
        expanded |= {(u, head) for u in inputs[:-1]}
    assert expanded == set(g.edges)
    for n in g.nodes:  # a concat read through a bus says how many inputs it has
        if any(h == n for _, h in buses):
            assert f">{g.in_degree(n)} inputs<" in labels[n]
    # one bus edge into every concat of a block but its first (which reads two inputs)
    layers = dense_layers(ref)
    assert sorted(layers.values()) == [6, 12, 16, 24]
    per_block = defaultdict(int)
    for _, head in buses:
        per_block[head.rsplit(".", 1)[0]] += 1
    assert per_block == {b: n - 1 for b, n in layers.items()}
    # block 3's last concat: its input and 24 layers; the bus brings 1024 - 32 channels
    growth = sd["features.denseblock3.denselayer24.conv2.weight"][0]
    channels = sd["features.transition3.conv.weight"][1]
    last = [h for _, h in buses if h.startswith("features.denseblock3.")][-1]
    assert g.in_degree(last) == layers["features.denseblock3"] + 1
    (bus_label, width), = [v for (t, h), v in buses.items() if h == last]
    assert bus_label == f"{channels - growth}\u00d714\u00d714"
    assert width > edges[(ir.predecessors(g, last)[-1], last)][1]  # drawn bold
    # light enough for dot's normal layout: real edge labels, not the large mode's xlabels
    assert "large layout" not in stdout
    assert all(not lbl or lbl[0].isdigit() for lbl, _ in edges.values())


def test_data_formats_keep_every_ir_edge_of_a_dense_block(run_cli, tmp_path):
    """The bus is a way of drawing: .json holds the IR's own edges."""
    g = archdsl.load("zoo:densenet121").graph
    out = tmp_path / "d.json"
    assert run_cli("render", "zoo:densenet121", "-o", out)[0] == 0
    h = nx.node_link_graph(json.loads(out.read_text()), edges="edges")
    assert set(h.edges) == set(g.edges)


@needs_gvpr
def test_collapsing_counts_follow_torchvision_blocks(run_cli, resnet50, torchvision_reference,
                                                     tmp_path):
    ref = torchvision_reference["resnet50"]
    blocks = torchvision_blocks(ref)
    assert len(blocks) == 3 + 4 + 6 + 3
    downsamples = {k.split(".downsample")[0] for k in ref["state_dict"] if ".downsample." in k}
    counts = {}
    for depth in ("0", "1", "2", "full"):
        out = tmp_path / f"d{depth}.dot"
        assert run_cli("render", "zoo:resnet50", "--depth", depth, "-o", out)[0] == 0
        counts[depth] = len(gv_graph(out)[0])
    assert counts["0"] < counts["1"] < counts["2"] < counts["full"] == resnet50.number_of_nodes()
    # depth 1 opens the 4 stages into their blocks; full depth opens each downsample (conv, bn)
    assert counts["1"] - counts["0"] == len(blocks) - 4
    assert counts["full"] - counts["2"] == len(downsamples) * (2 - 1)


def test_collapsed_nodes_carry_torchvision_parameter_counts(run_cli, torchvision_reference,
                                                            tmp_path):
    blocks = torchvision_blocks(torchvision_reference["resnet50"])
    out = tmp_path / "resnet50.json"
    code, _, err = run_cli("render", "zoo:resnet50", "--depth", "1", "-o", out)
    assert code == 0, err
    h = nx.node_link_graph(json.loads(out.read_text()), edges="edges")
    got = {n: d["params"] for n, d in h.nodes(data=True) if d["kind"] == "scope"}
    assert got == blocks
    assert h.nodes["layer3.0"]["shape"] == [1024, 14, 14]
    assert h.nodes["layer3.0"]["op"] == "bottleneck"


def test_graph_data_round_trips_through_graphml_and_json(run_cli, tmp_path):
    g = archdsl.load("zoo:googlenet").graph
    gml, js = tmp_path / "g.graphml", tmp_path / "g.json"
    assert run_cli("render", "zoo:googlenet", "-o", gml)[0] == 0
    assert run_cli("render", "zoo:googlenet", "-o", js)[0] == 0
    a = nx.read_graphml(gml)
    b = nx.node_link_graph(json.loads(js.read_text()), edges="edges")
    for h in (a, b):  # data formats default to every op
        assert set(h.nodes) == set(g.nodes) and set(h.edges) == set(g.edges)
    d = a.nodes["inception3a.branch2.1.conv"]
    assert json.loads(d["args"])["k"] == 3 and d["family"] == "conv"
    assert b.nodes["aux1.fc2"]["aux"] is True and b.nodes["fc"]["aux"] is False
    assert re.fullmatch(r".*googlenet\.arch:\d+:\d+", b.nodes["fc"]["span"])


def test_missing_dot_writes_nothing_and_says_how_to_install(run_cli, tmp_path, monkeypatch):
    """Issue 16, item 15: with `dot` missing and the user's out.dot present, `-o out.svg
    --force` once replaced out.dot, a file never named. Now nothing is written at all."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    mine = tmp_path / "r.dot"
    mine.write_text("the user's own graph")
    out = tmp_path / "r.svg"
    for force in ((), ("--force",)):
        code, _, err = run_cli("render", "zoo:resnet18", "-o", out, *force)
        msg = one_error(code, err)
        assert "apt-get install graphviz" in msg and f"-o {mine}" in msg
        assert not out.exists() and mine.read_text() == "the user's own graph"
    mine.unlink()
    run_cli("render", "zoo:resnet18", "-o", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_never_overwrites_without_force(run_cli, tmp_path):
    out = tmp_path / "r.dot"
    out.write_text("keep me")
    code, _, err = run_cli("render", "zoo:resnet18", "-o", out)
    assert code == 1 and "--force" in err
    assert out.read_text() == "keep me"
    assert run_cli("render", "zoo:resnet18", "-o", out, "--force")[0] == 0
    assert out.read_text().startswith("digraph")
    assert [p.name for p in tmp_path.iterdir()] == ["r.dot"]  # no temporary file left


def test_user_errors_exit_1(run_cli, tmp_path):
    for args in (("-o", tmp_path / "x.bmp"), ("--scope", "layer9"), ("--depth", "-1"),
                 ("--annotate", "colours")):
        code, _, err = run_cli("render", "zoo:resnet18", *args)
        assert code == 1 and "Traceback" not in err, args


def test_scope_view_and_annotations(run_cli):
    code, out, err = run_cli("render", "zoo:resnet50", "--scope", "layer1", "--depth", "full",
                             "--annotate", "params,flops", "-o", "-")
    assert code == 0, err
    assert '"layer1.0.conv2" [' in out and '"layer2.0.conv1" [' not in out
    assert '"maxpool (outside)" -> "layer1.0.conv1"' in out
    # layer1.0.conv2: 64 -> 64 channels, 3x3, on 56x56: 36,864 params, 115.6M multiply-adds
    assert "36.9K params" in out and "116M flops" in out
    edges = [line for line in out.splitlines() if "->" in line]
    assert edges and not any("label=" in e for e in edges)  # no shapes: no edge labels


def test_render_does_not_import_torch():
    code = ("import sys, archdsl, archdsl.render.dot as d, archdsl.render.export; "
            "d.to_dot(archdsl.load('zoo:googlenet').graph); "
            "from archdsl.commands import render; "
            "assert 'torch' not in sys.modules")
    subprocess.run([os.sys.executable, "-c", code], check=True)


def test_the_registry_calls_associative_exactly_the_merges_torch_computes_so():
    """A bus draws op(x0, ..., xk, y) as op(op(x0, ..., xk), y): true only for the merges the
    registry marks associative. Checked with the torch functions compiled networks call, on
    random tensors (mean, the one that is not, must differ)."""
    torch = pytest.importorskip("torch")
    from archdsl import ops
    from archdsl.backends import torch_layers
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(2, 3, 4, 4, generator=gen) + 2 for _ in range(3)]
    merges = [op for op in ops.OPS.values() if op.merge is not None]
    assert ops.OPS["concat"].merge.associative  # DenseNet's buses
    for op in merges:
        f = getattr(torch_layers, op.merge.function)
        nested = f([f(xs[:2]), xs[2]])
        same = nested.shape == f(xs).shape and torch.allclose(nested, f(xs))
        assert same == op.merge.associative, op.name


def test_a_layer_of_a_dense_block_drawn_alone_feeds_one_concat(run_cli, torchvision_reference):
    """`--scope` a layer of DenseNet-121's block 3 (24 layers in torchvision's state_dict):
    in the IR its output is read by the concat after it and by every later one, 24 - 5 + 1 =
    20 concats for layer 5; the picture draws it into the first, whose bus carries it on."""
    layers = dense_layers(torchvision_reference["densenet121"])["features.denseblock3"]
    g = archdsl.load("zoo:densenet121").graph
    conv2 = "features.denseblock3.denselayer5.conv2"
    readers = list(g.successors(conv2))
    assert len(readers) == layers - 5 + 1
    code, out, err = run_cli("render", "zoo:densenet121", "--scope",
                             "features.denseblock3.denselayer5", "--depth", "full", "-o", "-")
    assert code == 0, err
    leaving = re.findall(r'^  "([^"]+)" -> "([^"]+) \(outside\)"', out, re.M)
    assert leaving == [(conv2, readers[0])]


def _page_data(path) -> dict:
    text = path.read_text("utf-8")
    m = re.search(r'<script type="application/json" id="archdsl-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1))


@needs_dot
def test_html_page_of_a_scope(run_cli, torchvision_reference, tmp_path):
    """`-o NET.html --scope layer2`: the page opens on ResNet-50's layer2, its outline is
    layer2 and its four blocks (torchvision's layer2.0 to layer2.3), and its header carries
    layer2's parameter count as torchvision's state_dict gives it."""
    ref = torchvision_reference["resnet50"]
    blocks = torchvision_blocks(ref)
    out = tmp_path / "layer2.html"
    code, stdout, err = run_cli("render", "zoo:resnet50", "--scope", "layer2", "-o", out)
    assert code == 0, err
    assert "layer2" in stdout and "view" in stdout
    data = _page_data(out)
    assert data["views"][0]["scope"] == "layer2"
    outline = [s["path"] for s in data["scopes"]]
    assert outline[0] == "layer2"
    assert [p for p in outline if p.count(".") == 1] == sorted(b for b in blocks
                                                                if b.startswith("layer2."))
    assert data["totals"]["params"] == sum(n for b, n in blocks.items()
                                           if b.startswith("layer2."))
    ET.fromstring(re.search(r"<svg\b.*?</svg>", out.read_text("utf-8"), re.S).group(0))


def test_html_page_never_overwrites_without_force(run_cli, tmp_path):
    out = tmp_path / "g.html"
    out.write_text("keep me")
    code, _, err = run_cli("render", "zoo:googlenet", "-o", out)
    assert code == 1 and "--force" in err
    assert out.read_text() == "keep me"
    if shutil.which("dot"):
        assert run_cli("render", "zoo:googlenet", "-o", out, "--force")[0] == 0
        assert out.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["g.html"]  # no temporary file left


def test_html_page_without_dot_says_how_to_install_and_writes_nothing(run_cli, tmp_path,
                                                                      monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, _, err = run_cli("render", "zoo:googlenet", "-o", tmp_path / "g.html")
    assert code == 1
    assert "apt-get install graphviz" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["bin"]


@needs_dot
def test_to_svg_for_notebooks(torchvision_reference):
    """archdsl.render.to_svg: the SVG text of the default picture (ResNet-50 at its auto depth:
    the stem, four stages of collapsed blocks as torchvision's state_dict lays them out)."""
    from archdsl import render
    svg = render.to_svg(archdsl.load("zoo:resnet50").graph)
    root = ET.fromstring(svg)
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert set(torchvision_blocks(torchvision_reference["resnet50"])) <= titles


def test_labels_say_the_constant_scale_and_a_pool_that_leaves_the_padding_out():
    from archdsl.render.dot import to_dot
    g = archdsl.load(text="network n { input [4, 6, 6]; residual { conv(4); scale(0.17) }; "
                          "a: avgpool(3, s=1, p=1, count_include_pad=false); "
                          "b: avgpool(3, s=1, p=1) }").graph
    dot = to_dot(g)
    assert "scale \u00d70.17" in dot
    assert dot.count("avgpool 3\u00d73 excl. pad") == 1 and dot.count("avgpool 3\u00d73") == 2
