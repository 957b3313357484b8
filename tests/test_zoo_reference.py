"""Every reference network in the zoo, checked against its reference entry (issue 13).

tests/reference/torchvision.json (torchvision's 68 CNN classifiers) and timm.json (timm's
inception_v4 and inception_resnet_v2) hold, per network, what the reference library itself
built: params, macs at the reference input, the state_dict layout and the probe (see
tests/reference/README.md). For each entry whose zoo network is written, this file checks:

- params and macs exact, by the analysis path (no torch), at the reference input;
- the state_dict layout exact, twice: derived from the IR by torch.nn's conventions (no torch)
  and read from the built module (on the meta device, so the largest networks cost nothing);
- the probe: the reference keys filled deterministically in sorted order, loaded with
  strict=True, then one eval-mode forward pass of the probe input.

NOT_YET_WRITTEN lists the entries whose zoo network does not exist yet; they are skipped, and
a test keeps the list exact, so it is the only thing that changes as the zoo grows.
"""
from __future__ import annotations

import functools
import json
import math

import pytest

import archdsl
from archdsl import analysis, ir
from conftest import REFERENCE, ROOT, TIMM_REFERENCE

REFERENCES = {**json.loads(REFERENCE.read_text()), **json.loads(TIMM_REFERENCE.read_text())}

# Reference name -> zoo name, where they differ (the zoo keeps the
# short name `resnext50`, the file the README's first command compiles).
ZOO_NAME = {"resnext50_32x4d": "resnext50"}

# Reference entries whose zoo network is not written yet (issue 13). Remove a name when its
# zoo file arrives.
NOT_YET_WRITTEN = frozenset()

# The probe compares within 1e-4 relative, as tests/reference/README.md says; a logit that
# happens to lie near zero (0.00035 in shufflenet_v2_x1_5, where float32 rounding alone moves
# it by 5e-8) is compared within 1e-5 of the output's standard deviation instead.
PROBE_RTOL = 1e-4
PROBE_ATOL_OF_STD = 1e-5


def zoo_name(ref_name: str) -> str:
    return ZOO_NAME.get(ref_name, ref_name)


def _params(names):
    reason = "not in the zoo yet (issue 13): " + ", ".join(sorted(NOT_YET_WRITTEN))
    return [pytest.param(n, marks=pytest.mark.skip(reason=reason)) if n in NOT_YET_WRITTEN
            else n for n in names]


NAMES = _params(sorted(REFERENCES))


@functools.lru_cache(maxsize=None)
def network(ref_name: str):
    return archdsl.load(f"zoo:{zoo_name(ref_name)}")


@functools.lru_cache(maxsize=None)
def meta_module(ref_name: str):
    """The network's torch module on the meta device (no memory): one per network, shared by
    the layout check and the probe, which gives it real weights and takes them away again."""
    return network(ref_name).to_torch(device="meta")


def test_skip_list_is_exact():
    assert NOT_YET_WRITTEN <= set(REFERENCES)
    zoo = {p.stem for p in (ROOT / "zoo").glob("*.arch")}
    written = {n for n in REFERENCES if zoo_name(n) in zoo}
    assert sorted(written & NOT_YET_WRITTEN) == [], "written now: remove from NOT_YET_WRITTEN"
    assert sorted(set(REFERENCES) - written - NOT_YET_WRITTEN) == [], "missing zoo networks"


# --------------------------------------------------------------------------- analysis path


@pytest.mark.parametrize("name", NAMES)
def test_params_macs_and_input(name):
    ref = REFERENCES[name]
    net = network(name)
    totals = net.totals()
    assert totals["params"] == ref["params"]
    assert totals["macs"] == ref["macs"]
    assert net.graph.graph["input_shape"] == ref["input"]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def layout_from_ir(graph) -> dict:
    """state_dict key -> shape, derived from the IR nodes' args as torch.nn lays them out.
    An op with parameters that this does not know fails the test: say its layout here."""
    out = {}
    for key, d in graph.nodes(data=True):
        op, a = d["op"], d["args"]
        if op == "input":
            continue
        preds = ir.predecessors(graph, key)
        if op == "conv":
            cin = graph.nodes[preds[0]]["shape"][0]
            kh, kw = _pair(a["k"])
            out[f"{key}.weight"] = [a["out"], cin // a["groups"], kh, kw]
            if a["bias"]:
                out[f"{key}.bias"] = [a["out"]]
        elif op in ("fc", "linear_last"):  # nn.Linear over the last dimension
            cin = graph.nodes[preds[0]]["shape"][-1]
            out[f"{key}.weight"] = [a["out"], cin]
            if a["bias"]:
                out[f"{key}.bias"] = [a["out"]]
        elif op in ("layernorm", "layernorm2d"):  # over the last dimension / the channels
            c = d["shape"][-1 if op == "layernorm" else 0]
            out[f"{key}.weight"] = [c]
            out[f"{key}.bias"] = [c]
        elif op == "layer_scale":  # a bare tensor under the statement's own key
            out[key] = [d["shape"][0]] + [1] * (len(d["shape"]) - 1)
        elif op == "bn":
            c = d["shape"][0]
            for name in ("weight", "bias", "running_mean", "running_var"):
                out[f"{key}.{name}"] = [c]
            out[f"{key}.num_batches_tracked"] = []
        else:
            assert analysis.node_cost(graph, key)["params"] == 0, f"{key} ({op}) has params"
    return out


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_layout_from_ir(name):
    ours = layout_from_ir(network(name).graph)
    ref = REFERENCES[name]["state_dict"]
    assert sorted(set(ours) - set(ref)) == [], "keys the reference does not have"
    assert sorted(set(ref) - set(ours)) == [], "reference keys missing"
    assert ours == ref


# --------------------------------------------------------------------------- the torch module


@pytest.fixture(scope="module")
def torch2():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield torch
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", NAMES)
def test_torch_state_dict_layout(name, torch2):
    ref = REFERENCES[name]
    model = meta_module(name)
    layout = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(layout) - set(ref["state_dict"])) == [], "keys the reference does not have"
    assert sorted(set(ref["state_dict"]) - set(layout)) == [], "reference keys missing"
    assert layout == ref["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == ref["params"]


def probe_state_dict(torch, layout: dict) -> dict:
    """The probe's deterministic state_dict for a reference layout (tests/reference/README.md):
    seed 0, keys in sorted order, each tensor drawn by its kind. Drawn in place (`out=`), which
    consumes the generator exactly as the recipe's expressions do."""
    torch.manual_seed(0)
    out = {}
    for key in sorted(layout):
        shape = layout[key]
        if key.endswith("num_batches_tracked"):
            out[key] = torch.zeros(shape, dtype=torch.long)
            continue
        t = torch.empty(shape)
        if key.endswith("running_var"):
            torch.rand(shape, out=t).mul_(0.5).add_(0.75)
        elif key.endswith("running_mean"):
            torch.randn(shape, out=t).mul_(0.1)
        elif len(shape) >= 2:
            torch.randn(shape, out=t).div_(math.sqrt(math.prod(shape[1:])))
        elif key.endswith("weight"):
            torch.randn(shape, out=t).mul_(0.1).add_(1)
        else:
            torch.randn(shape, out=t).mul_(0.1)
        out[key] = t
    return out


@pytest.mark.parametrize("name", NAMES)
def test_probe(name, torch2):
    torch = torch2
    ref = REFERENCES[name]
    probe = ref["probe"]
    model = meta_module(name)
    try:
        state = probe_state_dict(torch, ref["state_dict"])
        result = model.load_state_dict(state, strict=True, assign=True)
        assert not result.missing_keys and not result.unexpected_keys
        del state
        x = torch.randn(*probe["input"])  # drawn right after the fill, as the recipe says
        model.eval()
        with torch.no_grad():
            y = model(x)
    finally:
        model.to("meta")  # the weights go; the module stays for the other checks
    assert tuple(y.shape) == (probe["input"][0], 1000) and bool(torch.isfinite(y).all())
    atol = PROBE_ATOL_OF_STD * probe["std"]
    torch.testing.assert_close(y[:, :10], torch.tensor(probe["logits_first10"]),
                               rtol=PROBE_RTOL, atol=atol)
    assert float(y.mean()) == pytest.approx(probe["mean"], rel=PROBE_RTOL, abs=atol)
    assert float(y.std()) == pytest.approx(probe["std"], rel=PROBE_RTOL)
