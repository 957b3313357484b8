"""The elaborator's block cache (elaborate.BlockCache): a replayed block call must give the
graph a fresh elaboration gives, and an edit (to the block, or to a block it calls in another
file) must be elaborated again. Figures: torchvision's parameter counts
(tests/reference/torchvision.json) and a convolution's weight and bias sizes."""
from __future__ import annotations

import pytest

from archdsl import analysis
from archdsl.elaborate import BlockCache, Elaborator
from archdsl.loader import Loader, resolve_file_argument
from archdsl.network import choose_network
from archdsl.values import DefValue


def build(loader_scope, cache, name=None, budgets=None):
    defn, where = choose_network(loader_scope, name)
    elaborator = Elaborator(cache=cache)
    graph = elaborator.network(DefValue(defn, where), defn.span)
    if budgets is not None:
        b = elaborator.budget
        budgets.append((b.nodes, b.edges, b.steps))
    return graph


def same_graph(g, h):
    assert list(g.nodes(data=True)) == list(h.nodes(data=True))
    assert list(g.edges(data=True)) == list(h.edges(data=True))
    assert g.graph == h.graph


@pytest.mark.parametrize("name", ["resnet152", "densenet121", "googlenet", "resnext50",
                                  "se_resnet50", "inception_v3", "mnasnet1_0"])
def test_replayed_calls_build_the_graph_a_fresh_elaboration_builds(name, torchvision_reference):
    scope = Loader().load_path(resolve_file_argument(f"zoo:{name}"))
    cache, budgets = BlockCache(), []
    first = build(scope, cache, budgets=budgets)  # fills the cache (and replays within itself)
    second = build(scope, cache, budgets=budgets)  # replays every block call
    fresh = build(scope, None, budgets=budgets)
    assert cache.hits > 0
    # The work counted against --max-nodes is the same: nodes, edges and steps.
    assert budgets[0] == budgets[1] == budgets[2]
    same_graph(first, fresh)
    same_graph(second, fresh)
    reference = {"resnext50": "resnext50_32x4d"}.get(name, name)
    if reference in torchvision_reference:
        assert analysis.totals(second)["params"] == torchvision_reference[reference]["params"]


PAIR = """
block pair(w) {
  conv(w, k=K, p=1); relu
  conv(w, k=K, p=1); relu
}
"""
NET = """
use "blocks.arch"
network n {
  input [3, 16, 16]
  a: pair(8)
  b: pair(8)
}
"""


def _params(k: int, w: int = 8, c: int = 3) -> int:
    """Two convs k x k: c -> w, then w -> w, each with a bias; twice (a and b)."""
    one = (c * w * k * k + w) + (w * w * k * k + w)
    return one + (w * w * k * k + w) * 2


def test_an_edited_block_is_elaborated_again(tmp_path):
    (tmp_path / "blocks.arch").write_text(PAIR.replace("K", "3"))
    (tmp_path / "n.arch").write_text(NET)
    cache = BlockCache()
    g = build(Loader().load_path(str(tmp_path / "n.arch")), cache)
    assert analysis.totals(g)["params"] == _params(3)
    g = build(Loader().load_path(str(tmp_path / "n.arch")), cache)  # unchanged: replayed
    assert cache.hits >= 2 and analysis.totals(g)["params"] == _params(3)

    # The used file is edited, the file of the network is not.
    (tmp_path / "blocks.arch").write_text(PAIR.replace("K", "5"))
    g = build(Loader().load_path(str(tmp_path / "n.arch")), cache)
    assert analysis.totals(g)["params"] == _params(5)
    assert g.nodes["b.0"]["args"]["k"] == 5


def test_a_block_whose_callee_changed_is_elaborated_again(tmp_path):
    # `outer` lives in the network's file and does not change; the `pair` it calls does.
    outer = "block outer(w) { pair(w) }\n"
    (tmp_path / "blocks.arch").write_text(PAIR.replace("K", "3"))
    net = NET.replace("a: pair(8)\n  b: pair(8)", "a: outer(8)\n  b: outer(8)")
    overlay = {str((tmp_path / "n.arch").resolve()): outer + net}
    cache = BlockCache()
    g = build(Loader(overlay).load_path(str(tmp_path / "n.arch")), cache)
    assert analysis.totals(g)["params"] == _params(3)
    overlay[str((tmp_path / "blocks.arch").resolve())] = PAIR.replace("K", "1")
    g = build(Loader(overlay).load_path(str(tmp_path / "n.arch")), cache)
    assert analysis.totals(g)["params"] == _params(1)


def test_a_replay_respects_the_node_limit_where_it_is_exceeded(tmp_path):
    text = NET.replace('use "blocks.arch"', PAIR.replace("K", "3"))
    (tmp_path / "n.arch").write_text(text)
    cache = BlockCache()
    build(Loader().load_path(str(tmp_path / "n.arch")), cache)
    scope = Loader().load_path(str(tmp_path / "n.arch"))
    defn, where = choose_network(scope, None)
    messages = []
    for c in (cache, None):
        with pytest.raises(Exception) as e:
            Elaborator(6, cache=c).network(DefValue(defn, where), defn.span)
        messages.append(e.value.format())
    assert messages[0] == messages[1] and "more than 6 ops" in messages[0]


def test_a_call_whose_arguments_share_huge_lists_is_not_keyed(tmp_path):
    # l25 holds 2^25 items through shared lists, built in 25 steps: a key reading them all
    # would take minutes; the key gives up after MAX_KEY_ITEMS and the call is not cached.
    lets = "\n".join(f"  let l{i + 1} = [l{i}, l{i}]" for i in range(25))
    text = (f"block b(v) {{ relu }}\nnetwork n {{\n  input [3, 4, 4]\n  let l0 = [1]\n{lets}\n"
            f"  b(l25)\n  b(l25)\n}}\n")
    (tmp_path / "n.arch").write_text(text)
    cache = BlockCache()
    g = build(Loader().load_path(str(tmp_path / "n.arch")), cache)
    assert [g.nodes[k]["op"] for k in g] == ["input", "relu", "relu"]
    assert cache.hits == cache.misses == 0
