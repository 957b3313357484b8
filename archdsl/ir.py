"""The IR: a networkx DiGraph of primitive ops (docs/design.md, "The IR").

Node keys are dotted module paths (`layer2.0.conv2`), which are also the PyTorch
`state_dict` prefixes. Node attributes: `op`, `args` (resolved), `shape` (output, no batch),
`scope` (enclosing scope paths), `span`, `aux`. Edges carry `port` (input order). Graph
attributes: `name`, `inputs`, `outputs`, `aux_outputs`, `input_shape`, `scopes` (path ->
kind, span, aux) and `labels` (named statement path -> its output node).
"""
from __future__ import annotations

import networkx as nx

INPUT = "input"  # the key of the network's input node ("input" is a reserved word)


def new_graph(name: str) -> nx.DiGraph:
    g = nx.DiGraph(name=name)
    g.graph.update(inputs=[], outputs=[], aux_outputs=[], input_shape=None, scopes={},
                   labels={})
    return g


def add_node(g: nx.DiGraph, key: str, **attrs) -> None:
    g.add_node(key, **attrs)


def predecessors(g: nx.DiGraph, key: str) -> list:
    """Inputs of a node in port order."""
    preds = [(d["port"], u) for u, _, d in g.in_edges(key, data=True)]
    return [u for _, u in sorted(preds)]


def execution_order(g: nx.DiGraph) -> list:
    """Nodes in creation order, which elaboration guarantees is a topological order."""
    return list(g.nodes)
