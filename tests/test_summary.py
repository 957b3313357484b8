"""`archdsl summary --batch B --dtype D`: its per-layer memory and a training step's sizes
against torchinfo's figures for the same network (our module from to_torch(), in eval mode
as torchinfo runs it), and the units it prints."""
from __future__ import annotations

import json
import sys
import warnings

import pytest

import archdsl


def _torchinfo_run(name, batch, input_shape=None, dtype="float32"):
    torch = pytest.importorskip("torch")
    torchinfo = pytest.importorskip("torchinfo")
    net = archdsl.load(name, input_shape=input_shape)
    model = net.to_torch(dtype=getattr(torch, dtype)).eval()
    shape = (batch, *net.graph.graph["input_shape"])
    with warnings.catch_warnings():  # "Half precision is not supported on cpu": it runs
        warnings.simplefilter("ignore")
        info = torchinfo.summary(model, input_size=shape, dtypes=[getattr(torch, dtype)],
                                 verbose=0)
    names = {id(m): n for n, m in model.named_modules()}
    leaves = {names[layer.layer_id]: layer for layer in info.summary_list
              if layer.is_leaf_layer}
    return torch, info, leaves


def _ours(run_cli, *argv):
    code, out, err = run_cli("summary", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_resnet18_batch16_agrees_with_torchinfo(run_cli, one_torch_thread):
    ours = _ours(run_cli, "zoo:resnet18", "--batch", "16")
    torch, info, leaves = _torchinfo_run("zoo:resnet18", 16)
    rows = {r["name"]: r for r in ours["layers"]}
    sizes = ours["sizes"]
    assert (ours["batch"], ours["dtype"]) == (16, "float32")

    # Params and params size: the same count.
    assert ours["total"]["params"] == info.total_params == 11_689_512
    assert sizes["params"] == info.total_param_bytes

    # Input size: torchinfo takes sys.getsizeof of the input's storage, the tensor's bytes
    # plus the header of a Python object; ours is the bytes.
    header = sys.getsizeof(torch.empty(0).untyped_storage())
    assert sizes["input"] + header == info.total_input

    # Every layer torchinfo lists (a module of ours) has our row's output bytes for the batch.
    assert set(leaves) <= set(rows)
    assert {k: layer.output_bytes for k, layer in leaves.items()} == \
        {k: rows[k]["memory"] for k in leaves}

    # Forward/backward: torchinfo counts the outputs of layers with parameters, twice
    # (output and gradient); ours every op's output twice (relus, pools, the residual adds
    # too, which are not modules).
    assert info.total_output_bytes == 2 * sum(r["memory"] for r in ours["layers"]
                                              if r["params"])
    assert sizes["forward_backward"] == 2 * sum(r["memory"] for r in ours["layers"])
    assert sizes["total"] == sizes["input"] + sizes["params"] + sizes["forward_backward"]

    # Mult-adds: torchinfo's are for the batch and count a conv's weights times its output
    # positions (our macs), and for other layers with parameters (bn, fc) the batch times
    # their parameters (the fc's bias, bn's scale and shift).
    assert info.total_mult_adds == 16 * sum(
        r["macs"] if r["op"] == "conv" else r["params"] for r in ours["layers"] if r["params"])


def test_bfloat16_sizes_agree_with_torchinfo(run_cli, one_torch_thread):
    ours = _ours(run_cli, "zoo:resnet18", "--batch", "2", "--dtype", "bfloat16",
                 "--input", "3,64,64")
    torch, info, leaves = _torchinfo_run("zoo:resnet18", 2, (3, 64, 64), "bfloat16")
    rows = {r["name"]: r for r in ours["layers"]}
    assert ours["sizes"]["params"] == info.total_param_bytes == 2 * 11_689_512
    header = sys.getsizeof(torch.empty(0).untyped_storage())
    assert ours["sizes"]["input"] + header == info.total_input
    assert {k: layer.output_bytes for k, layer in leaves.items()} == \
        {k: rows[k]["memory"] for k in leaves}


def test_units_say_what_they_are(run_cli, torchvision_reference):
    # LeNet-5 (333 thousand multiply-adds) in K, not "0.00 G"; KiB, never "KB".
    flops = _ours(run_cli, "zoo:lenet5")["total"]["flops"]
    code, out, _ = run_cli("summary", "zoo:lenet5")
    assert code == 0
    assert "memory KiB" in out and "KB" not in out and "0.00 G" not in out
    assert f"({flops / 1e3:.2f} K multiply-adds)" in out
    # ResNet-18's params size: torchvision's count of float32 numbers, in MiB.
    params = torchvision_reference["resnet18"]["params"]
    code, out, _ = run_cli("summary", "zoo:resnet18", "--batch", "16")
    words = " ".join(out.split())
    assert f"params size {params * 4 / 2 ** 20:.2f} MiB" in words
    assert f"input size {16 * 3 * 224 * 224 * 4 / 2 ** 20:.2f} MiB" in words


def test_depth_groups_json_rows(run_cli, torchvision_reference):
    ours = _ours(run_cli, "zoo:resnet18", "--depth", "1")
    names = [r["name"] for r in ours["layers"]]
    assert "layer3" in names and not any(n.startswith("layer3.") for n in names)
    assert sum(r["params"] for r in ours["layers"]) == torchvision_reference["resnet18"]["params"]
