"""The zoo, part B: networks from the papers and the seeds (the lecture notes and blog posts).

Every expected number here is a figure of the papers or the seeds, each named where it is
asserted, or, for fractalnet and densenet_bc100 where no outside count
exists, a count derived below from the networks' published structure by a formula written
out in the test. None is copied from archdsl's output. Forward passes through PyTorch are
in test_zoo_papers_torch.py.
"""
from __future__ import annotations

import functools

import pytest

import archdsl
from archdsl import ir

# Total trainable parameters, as each network's paper states them (LeCun et al. 1998; He et al.
# 2015, Table 6; He et al. 2016; Zagoruyko and Komodakis 2016, Table 1; Hu et al. 2018; Lin et al.
# 2013; Huang et al. 2017; Krizhevsky et al. 2012) or as the seeds count them.
PARAMS = {
    "lenet5": 60_000,
    "lenet_keras": 61_706,
    "alexnet_2012": 60_965_224,
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "resnet1202": 19_421_274,
    "preact_resnet164": 1_703_258,
    "preact_resnet1001": 10_327_706,
    "wrn28_10": 36_479_194,
    "wrn16_8": 10_961_370,
    "wrn40_4": 8_949_210,
    "se_resnet50": 28_088_024,
    "nin_cifar10": 966_986,
    "resnet110_sd": 1_727_962,  # "params as resnet110"
    "densenet264": 33_337_704,
}

PART_B = ("lenet5", "lenet_cs231n", "lenet_keras", "alexnet_cs231n", "alexnet_2012",
          "alexnet_keras", "zfnet", "googlenet_2014", "resnet20", "resnet32", "resnet44",
          "resnet56", "resnet110", "resnet1202", "plain20", "plain56", "preact_resnet164",
          "preact_resnet1001", "wrn28_10", "wrn16_8", "wrn40_4", "se_resnet50",
          "se_resnext50_32x4d", "nin_cifar10", "resnet110_sd", "fractalnet", "densenet264",
          "densenet_bc100")


@functools.lru_cache(maxsize=None)
def network(name: str):
    return archdsl.load(f"zoo:{name}")


def rows(name: str) -> dict:
    return {r["name"]: r for r in network(name).summary()["layers"]}


def output_shape(net) -> tuple:
    return net.graph.nodes[net.graph.graph["outputs"][0]]["shape"]


def shape_of(name: str, label: str) -> list:
    """Output shape of a named statement (a layer, or a block: its last op)."""
    g = network(name).graph
    return list(g.nodes[g.graph["labels"][label]]["shape"])


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_total_params(name):
    assert network(name).summary()["total"]["params"] == PARAMS[name]


@pytest.mark.parametrize("name", PART_B)
def test_every_file_describes_itself_and_builds(name, run_cli):
    from archdsl.commands.zoo import description
    from archdsl.loader import ZOO
    assert description(ZOO / f"{name}.arch")
    code, out, err = run_cli("check", f"zoo:{name}")
    assert code == 0, err


# --------------------------------------------------------------------------- LeNet


def test_lenet5_params_per_layer():
    # LeCun et al. 1998 (and seed 003's C1 156, S2 12, S4 32, C5 48,120): C3 reads the S2 maps of
    # its row of the connection table, 60 maps x 25 weights + 16 biases = 1,516.
    r = rows("lenet5")
    per_layer = {k: r[k]["params"] for k in ("c1", "s2", "c3", "s4", "c5", "f6", "output")}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120,
                         "f6": 10_164, "output": 0}  # the RBF prototypes are fixed
    assert sum(per_layer.values()) == 60_000


def test_lenet5_shapes_and_squashing():
    # Seed 003: (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), 84, 10.
    assert [shape_of("lenet5", n) for n in ("c1", "s2", "c3", "s4", "c5", "f6", "output")] == [
        [6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5], [120, 1, 1], [84], [10]]
    g = network("lenet5").graph
    ops = [g.nodes[k]["op"] for k in ir.execution_order(g)]
    assert ops.count("scaled_tanh") == 6  # after C1, S2, C3, S4, C5 and F6
    squash = next(g.nodes[k]["args"] for k in g if g.nodes[k]["op"] == "scaled_tanh")
    assert squash["a"] == 1.7159 and squash["s"] == pytest.approx(2 / 3)


def test_lenet5_connection_table_is_zoo_md():
    table = network("lenet5").graph.nodes["c3"]["args"]["table"]
    expected = """0: 0 1 2    1: 1 2 3    2: 2 3 4    3: 3 4 5    4: 0 4 5    5: 0 1 5
    6: 0 1 2 3  7: 1 2 3 4  8: 2 3 4 5  9: 0 3 4 5  10: 0 1 4 5  11: 0 1 2 5
    12: 0 1 3 4 13: 1 2 4 5 14: 0 2 3 5 15: 0 1 2 3 4 5"""
    import re
    parsed = [[int(x) for x in cols.split()]
              for cols in re.split(r"\d+:", expected.replace("\n", " "))[1:]]
    assert table == parsed
    # Seed 002: the first S2 map feeds C3 maps 0, 4, 5, 6, 9, 10, 11, 12, 14, 15.
    assert [i for i, row in enumerate(table) if 0 in row] == [0, 4, 5, 6, 9, 10, 11, 12, 14, 15]


def test_lenet_cs231n_shapes():
    # Seed 001: 20 maps of 28x28, pooled to 14; 50 of 14x14, pooled to 7; 2,450; 500; 10.
    shapes = [shape_of("lenet_cs231n", n)
              for n in ("conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2")]
    assert shapes == [[20, 28, 28], [20, 14, 14], [50, 14, 14], [50, 7, 7], [2_450], [500],
                      [10]]


def test_lenet_keras_shapes():
    # Seed 002's Keras model: 28x28 padded by 2 to 32x32, valid 5x5 convs, 2x2 average pools.
    assert [shape_of("lenet_keras", n) for n in ("pad", "conv1", "pool1", "conv2", "pool2")] \
        == [[1, 32, 32], [6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5]]
    assert output_shape(network("lenet_keras")) == (10,)


# --------------------------------------------------------------------------- AlexNet, ZFNet


def test_alexnet_cs231n_walkthrough():
    # Seed 001's cost table (CS231n lecture 9 notes: the AlexNet walk-through).
    r = rows("alexnet_cs231n")
    conv1, pool1 = r["conv1"], r["pool1"]
    assert conv1["shape"] == [64, 56, 56]
    assert conv1["memory"] / 1024 == 784
    assert conv1["params"] == 23_296
    assert conv1["flops"] == 72_855_552
    assert pool1["shape"] == [64, 27, 27]
    assert pool1["memory"] / 1024 == 182.25
    assert pool1["params"] == 0
    assert pool1["flops"] == 419_904
    assert r["flatten"]["shape"] == [9_216]
    assert r["fc6"]["macs"] == 37_748_736


def test_alexnet_2012_two_gpu_layout():
    # Seed 001: 55x55x96 after conv1 (48 maps on each GPU); 27 after pool1 ((55-3)/2+1);
    # conv2, conv4 and conv5 read only their own GPU's half; LRN after conv1 and conv2.
    g = network("alexnet_2012").graph
    assert shape_of("alexnet_2012", "conv1") == [96, 55, 55]
    assert shape_of("alexnet_2012", "pool1") == [96, 27, 27]
    assert shape_of("alexnet_2012", "pool5") == [256, 6, 6]
    assert {k: g.nodes[k]["args"]["groups"] for k in g if g.nodes[k]["op"] == "conv"} == {
        "conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}
    lrn = [k for k in ir.execution_order(g) if g.nodes[k]["op"] == "lrn"]
    assert [ir.predecessors(g, ir.predecessors(g, k)[0])[0] for k in lrn] == ["conv1", "conv2"]


def test_alexnet_keras_shapes():
    # Seed 002 (AlexNet in Keras): 56, 27, 27, 13, 13, 6 (conv1, pool1, conv2, pool2, conv3-5, pool5).
    sizes = [shape_of("alexnet_keras", n)[1]
             for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv5", "pool5")]
    assert sizes == [56, 27, 27, 13, 13, 13, 6]
    assert shape_of("alexnet_keras", "resize") == [3, 224, 224]
    assert output_shape(network("alexnet_keras")) == (10,)


def test_zfnet_shapes():
    # Zeiler and Fergus 2013, Fig. 3 (Caffe's sizes): conv1 (padding 1) 110x110; ceil-mode pooling 55 after pool1, 26 after conv2,
    # 13 after pool2, 6 after pool5.
    sizes = {n: shape_of("zfnet", n)[1] for n in ("conv1", "pool1", "conv2", "pool2", "pool5")}
    assert sizes == {"conv1": 110, "pool1": 55, "conv2": 26, "pool2": 13, "pool5": 6}


# --------------------------------------------------------------------------- GoogLeNet 2014

TABLE_1 = {  # module: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj (Szegedy et al. 2014, Table 1)
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def conv_rows(name, prefix):
    return [r for r in network(name).summary()["layers"]
            if r["op"] == "conv" and r["name"].startswith(prefix)]


@pytest.mark.parametrize("module", sorted(TABLE_1))
def test_googlenet_2014_table_1_widths(module):
    c1, c3r, c3, c5r, c5, pp = TABLE_1[module]
    g = network("googlenet_2014").graph
    convs = {r["name"].split(".", 1)[1]: r for r in conv_rows("googlenet_2014",
                                                                f"inception{module}.")}
    assert {k: v["shape"][0] for k, v in convs.items()} == {
        "branch1.conv": c1, "branch2.0.conv": c3r, "branch2.1.conv": c3,
        "branch3.0.conv": c5r, "branch3.1.conv": c5, "branch4.1.conv": pp}
    assert g.nodes[f"inception{module}.branch3.1.conv"]["args"]["k"] == 5  # a true 5x5
    assert shape_of("googlenet_2014", f"inception{module}")[0] == c1 + c3 + c5 + pp


def test_googlenet_2014_module_3a_and_3b_costs():
    # Table 1's widths give: 3a has 163,328 weights (biases excluded) and 128,049,152 macs at 28x28;
    # 3b 388,096 weights.
    def weights(module):
        return sum(r["params"] - r["shape"][0] for r in conv_rows("googlenet_2014", module))
    assert shape_of("googlenet_2014", "inception3a")[1:] == [28, 28]
    assert weights("inception3a.") == 163_328
    assert sum(r["macs"] for r in conv_rows("googlenet_2014", "inception3a.")) == 128_049_152
    assert weights("inception3b.") == 388_096


def test_googlenet_2014_paper_details():
    g = network("googlenet_2014").graph
    ops = {g.nodes[k]["op"] for k in g}
    assert "bn" not in ops and "lrn" in ops
    assert len(g.graph["aux_outputs"]) == 2
    assert shape_of("googlenet_2014", "aux1.pool") == [512, 4, 4]  # 5x5/3 pool on 4a
    assert shape_of("googlenet_2014", "aux2.pool") == [528, 4, 4]  # on 4d
    assert shape_of("googlenet_2014", "aux1.conv") == [128, 4, 4]
    assert shape_of("googlenet_2014", "aux1.fc1") == [1024]
    drops = sorted(g.nodes[k]["args"]["p"] for k in g if g.nodes[k]["op"] == "dropout")
    assert drops == [0.4, 0.7, 0.7]


# --------------------------------------------------------------------------- CIFAR ResNets


def test_cifar_resnets_use_parameter_free_option_a_shortcuts():
    g = network("resnet20").graph
    assert shape_of("resnet20", "stage1") == [16, 32, 32]
    assert shape_of("resnet20", "stage2") == [32, 16, 16]
    assert shape_of("resnet20", "stage3") == [64, 8, 8]
    shortcut = [k for k in g if k.startswith("stage2.0.downsample")]
    assert {g.nodes[k]["op"] for k in shortcut} == {"maxpool", "pad_channels"}
    assert sum(r["params"] for r in network("resnet20").summary()["layers"]
               if r["name"].startswith("stage2.0.downsample")) == 0
    # He et al.: 6n + 2 weighted layers.
    for depth in (20, 32, 44, 56, 110, 1202):
        g = network(f"resnet{depth}").graph
        assert sum(g.nodes[k]["op"] in ("conv", "fc") for k in g) == depth


@pytest.mark.parametrize("plain,resnet", [("plain20", "resnet20"), ("plain56", "resnet56")])
def test_plain_nets_are_resnets_without_shortcuts(plain, resnet):
    p, r = network(plain), network(resnet)
    assert p.summary()["total"]["params"] == r.summary()["total"]["params"]
    assert not any(p.graph.nodes[k]["op"] in ("add", "pad_channels") for k in p.graph)
    weighted = lambda g: [k for k in g if g.nodes[k]["op"] in ("conv", "fc", "bn")]
    assert weighted(p.graph) == weighted(r.graph)  # same state_dict module names


def test_stochastic_depth_survival_decays_linearly_to_one_half():
    # Huang et al.: p_l = 1 - l / L (1 - p_L), p_L = 0.5, over the L = 54 units of resnet110.
    g = network("resnet110_sd").graph
    drops = [g.nodes[k]["args"]["p"] for k in ir.execution_order(g)
             if g.nodes[k]["op"] == "drop_path"]
    assert len(drops) == 54
    assert drops == pytest.approx([0.5 * l / 54 for l in range(1, 55)])
    first = [k for k in ir.execution_order(g) if g.nodes[k]["op"] == "drop_path"][0]
    assert first.startswith("stage1.0.")  # inside the first unit's residual branch


def test_preact_and_wide_units_order_bn_relu_conv():
    for name in ("preact_resnet164", "wrn28_10"):
        g = network(name).graph
        order = [g.nodes[k]["op"] for k in ir.execution_order(g) if k.startswith("stage2.1.")]
        assert order[:3] == ["bn", "relu", "conv"]
        assert order[-1] == "add"  # nothing after the addition
    # 9n + 2 layers for the bottleneck nets (He et al. 2016), 6n + 4 for WRN-d-k.
    assert sum(network("preact_resnet164").graph.nodes[k]["op"] == "conv"
               for k in network("preact_resnet164").graph if "downsample" not in k) == 163
    assert shape_of("wrn28_10", "stage3") == [640, 8, 8]
    assert shape_of("wrn16_8", "stage1") == [128, 32, 32]
    assert shape_of("wrn40_4", "stage2") == [128, 16, 16]


def test_se_resnext50_is_resnext50_plus_se_gates(torchvision_reference):
    # Hu et al.: an SE gate with reduction r on C channels adds 2 C^2 / r + C / r + C
    # parameters (two 1x1 convs with biases); ResNeXt-50 32x4d's bottlenecks end in
    # 256 x3, 512 x4, 1024 x6 and 2048 x3 channels.
    base = torchvision_reference["resnext50_32x4d"]["params"]
    se = sum(n * (2 * c * c // 16 + c // 16 + c)
             for n, c in ((3, 256), (4, 512), (6, 1024), (3, 2048)))
    assert network("se_resnext50_32x4d").summary()["total"]["params"] == base + se
    # The same formula on resnet50 gives Hu et al.'s se_resnet50 figure.
    assert torchvision_reference["resnet50"]["params"] + se == PARAMS["se_resnet50"]


# --------------------------------------------------------------------------- NIN, DenseNet


def test_nin_mlpconv_stacks():
    widths = {n: [r["shape"][0] for r in conv_rows("nin_cifar10", n + ".")]
              for n in ("mlpconv1", "mlpconv2", "mlpconv3")}
    assert widths == {"mlpconv1": [192, 160, 96], "mlpconv2": [192, 192, 192],
                      "mlpconv3": [192, 192, 10]}
    assert not any(r["op"] == "fc" for r in network("nin_cifar10").summary()["layers"])
    assert output_shape(network("nin_cifar10")) == (10,)


def densenet_params(stem_conv: tuple, blocks, growth: int, bn_size: int, classes: int,
                    compression: float = 0.5, c_in: int = 3) -> int:
    """DenseNet-BC by its definition (Huang et al.): a dense layer on c channels is
    BN(c) + 1x1 conv c -> 4k + BN(4k) + 3x3 conv 4k -> k (no conv biases); a transition on
    c channels is BN(c) + 1x1 conv c -> floor(c * compression); then BN and the classifier.
    `stem_conv` is the stem conv's (kernel, width)."""
    k_stem, width = stem_conv
    params = c_in * width * k_stem * k_stem
    c = width
    if k_stem == 7:  # ImageNet stem: conv, BN (the 3x3 pool has no parameters)
        params += 2 * c
    for b, n in enumerate(blocks):
        for _ in range(n):
            params += 2 * c + c * bn_size * growth + 2 * bn_size * growth \
                + bn_size * growth * growth * 9
            c += growth
        if b < len(blocks) - 1:
            out = int(c * compression)
            params += 2 * c + c * out
            c = out
    return params + 2 * c + c * classes + classes


def test_densenet_bc100_count_from_its_structure():
    # L = 100 = 3 blocks x 16 layers x 2 convs + stem + 2 transitions + classifier; k = 12;
    # the stem conv is 3x3 with 2k = 24 channels; CIFAR-10.
    expected = densenet_params((3, 24), [16, 16, 16], growth=12, bn_size=4, classes=10)
    assert expected == 769_162  # the paper's Table 2 rounds it to 0.8M
    assert round(expected / 1e5) / 10 == 0.8
    assert network("densenet_bc100").summary()["total"]["params"] == expected
    assert shape_of("densenet_bc100", "features.norm5") == [342, 8, 8]


def test_densenet264_formula_agrees_with_the_paper():
    # The same formula with the ImageNet stem (7x7 conv of 64, BN) gives the paper's figure (Huang et al. 2017).
    assert densenet_params((7, 64), [6, 12, 64, 48], 32, 4, 1000) == PARAMS["densenet264"]


# --------------------------------------------------------------------------- FractalNet


def test_fractalnet_count_from_its_structure():
    """Larsson et al.'s expansion rule: f_1(z) = conv(z), f_{C+1}(z) = join(f_C(f_C(z)),
    conv(z)). A block of C columns then has 2^C - 1 convs (T(1) = 1, T(C+1) = 2 T(C) + 1),
    and C of them read the block's input (the first conv of each column: R(1) = 1,
    R(C+1) = R(C) + 1); the other 2^C - 1 - C read `width` channels. Each conv is 3x3 without
    bias followed by batch norm (2 parameters per channel); joins and pools have none.
    B = 5 blocks of widths 64-128-256-512-512 on 3 input channels, then fc 512 -> 10 (the
    five 2x2 pools take 32x32 to 1x1)."""
    C, widths, classes = 4, [64, 128, 256, 512, 512], 10
    total, c_in = 0, 3
    for w in widths:
        convs = 2 ** C - 1
        total += C * 9 * c_in * w + (convs - C) * 9 * w * w + convs * 2 * w
        c_in = w
    total += widths[-1] * classes + classes
    assert total == 76_106_634
    net = network("fractalnet")
    assert net.summary()["total"]["params"] == total
    g = net.graph
    assert sum(g.nodes[k]["op"] == "conv" for k in g) == 5 * 15
    assert shape_of("fractalnet", "block5") == [512, 2, 2]
    assert shape_of("fractalnet", "pool5") == [512, 1, 1]
    # Depth: the deepest column of a C-column block holds 2^(C-1) convs: 5 x 8 + fc = 41.
    assert longest_conv_path(g) == 5 * 2 ** (C - 1)
    joins = [g.nodes[k]["args"] for k in g if g.nodes[k]["op"] == "join"]
    assert all(a["p"] == 0.15 for a in joins)
    assert sorted({a["n"] for a in joins}) == [1, 2, 3, 4]


def longest_conv_path(g) -> int:
    depth = {}
    for k in ir.execution_order(g):
        preds = ir.predecessors(g, k)
        here = max((depth[p] for p in preds), default=0)
        depth[k] = here + (g.nodes[k]["op"] == "conv")
    return max(depth.values())


# --------------------------------------------------------------------------- torch-free analysis


def test_loading_part_b_never_imports_torch():
    import subprocess
    import sys
    code = ("import sys, archdsl\n"
            "for n in ('lenet5', 'resnet20', 'resnet110_sd', 'fractalnet'):\n"
            "    archdsl.load('zoo:' + n).summary()\n"
            "assert 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("stmt,message", [
    ("pad_channels(8)", "pad_channels: out=8 is fewer than the input's 16 channels"),
    ("join(3)", "join: n=3 must divide the input's 16 channels"),
    ("join(2, p=1)", "join: p must be in [0, 1)"),
])
def test_new_ops_report_located_errors(stmt, message, tmp_path, run_cli):
    path = tmp_path / "bad.arch"
    path.write_text(f"network bad {{\n  input [16, 8, 8]\n  {stmt}\n}}\n")
    code, _, err = run_cli("check", path)
    assert code == 1
    assert f"bad.arch:3:3: error: {message}" in err
