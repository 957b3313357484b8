"""The IR's networkx (ir.py): the analysis path loads only its graph classes, and whatever
asks for more of networkx afterwards gets the whole package, the same as a plain
`import networkx` gives."""
from __future__ import annotations

import json
import subprocess
import sys

PLAIN = "import json, networkx; print(json.dumps(sorted(n for n in dir(networkx) if n[0] != '_')))"

AFTER_SUMMARY = """
import io, json, sys, contextlib
from archdsl import cli
with contextlib.redirect_stdout(io.StringIO()) as out:
    cli.main(["summary", "zoo:resnet18"])
light = "networkx.algorithms" not in sys.modules
import networkx
from archdsl.network import load
graph = load("zoo:resnet18").graph
print(json.dumps({
    "light": light,
    "params": "11,689,512" in out.getvalue(),
    "dag": networkx.is_directed_acyclic_graph(graph),
    "order": list(networkx.topological_sort(graph))[:2],
    "names": sorted(n for n in dir(networkx) if n[0] != "_"),
}))
"""


def run(code: str):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def test_summary_loads_only_the_graph_classes_and_the_rest_comes_on_demand():
    got = run(AFTER_SUMMARY)
    assert got["light"]  # summary never loaded networkx's algorithms
    assert got["params"]  # torchvision's resnet18: 11,689,512 (tests/reference)
    assert got["dag"] and got["order"] == ["input", "conv1"]  # networkx's own algorithms
    assert got["names"] == run(PLAIN)  # every public name of a plain `import networkx`
