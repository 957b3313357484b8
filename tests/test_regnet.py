"""RegNet's width rule, computed in the language (zoo/regnet.arch), against a copy of
torchvision's own computation: BlockParams.from_init_params and
_adjust_widths_groups_compatibilty (pytorch/vision torchvision/models/regnet.py), run in torch
float32 as torchvision runs it. The published members are also checked whole by
test_zoo_reference.py; here the rule is checked at points of the design space beyond them."""
from __future__ import annotations

import math
import random

import pytest

import archdsl
from test_functions import tv_make_divisible

# (depth, w0, wa, wm, group_width) of torchvision's 15 builders (regnet_x_400mf ... y_128gf)
MEMBERS = {
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16), "regnet_x_800mf": (16, 56, 35.73, 2.28, 16),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24), "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120), "regnet_x_16gf": (22, 216, 55.59, 2.1, 128),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168), "regnet_y_400mf": (16, 48, 27.89, 2.09, 8),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16), "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24), "regnet_y_8gf": (17, 192, 76.82, 2.19, 56),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112), "regnet_y_32gf": (20, 232, 115.89, 2.53, 232),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264),
}


def from_init_params(depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0):
    """torchvision's BlockParams.from_init_params with _adjust_widths_groups_compatibilty, the
    same torch float32 operations: (block widths, stage widths, stage depths, the stage widths
    and the group widths after the adjustment)."""
    torch = pytest.importorskip("torch")
    QUANT = 8
    widths_cont = torch.arange(depth) * w_a + w_0
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), QUANT))
                    * QUANT).int().tolist()
    split_helper = zip(block_widths + [0], [0] + block_widths, block_widths + [0],
                       [0] + block_widths)
    splits = [w != wp or r != rp for w, wp, r, rp in split_helper]
    stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
    stage_depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t])).int().tolist()
    b = bottleneck_multiplier
    widths = [int(w * b) for w in stage_widths]
    group_widths_min = [min(group_width, w_bot) for w_bot in widths]
    ws_bot = [tv_make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths_min)]
    adjusted = [int(w_bot / b) for w_bot in ws_bot]
    return block_widths, stage_widths, stage_depths, adjusted, group_widths_min


def torchvision_stages(depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0):
    """from_init_params' stage widths, depths and group widths, as torchvision builds them."""
    _, _, depths, widths, groups = from_init_params(depth, w_0, w_a, w_m, group_width,
                                                    bottleneck_multiplier)
    return widths, depths, groups


def stages_of(graph):
    """(widths, depths, group widths) of the stages of a built RegNet, read off its convs."""
    widths, depths, groups = [], [], []
    i = 1
    while f"trunk_output.block{i}.block{i}-0.f.c.0" in graph:
        first = f"trunk_output.block{i}.block{i}-0"
        widths.append(graph.nodes[f"{first}.f.c.0"]["args"]["out"])
        b = graph.nodes[f"{first}.f.b.0"]["args"]
        groups.append(b["out"] // b["groups"])
        depths.append(sum(1 for k in graph.graph["scopes"]
                          if k.startswith(f"trunk_output.block{i}.block{i}-")
                          and k.count(".") == 2))
        i += 1
    return widths, depths, groups


def build(depth, w0, wa, wm, group_width, bottleneck=1.0):
    return archdsl.load(text=f'use "zoo:regnet"\nnetwork p = regnet(depth={depth}, w0={w0}, '
                        f'wa={wa}, wm={wm}, group_width={group_width}, '
                        f'bottleneck={bottleneck}, image=[3, 32, 32])').graph


@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_members_stages_are_torchvisions(name):
    assert stages_of(archdsl.load(f"zoo:{name}").graph) == torchvision_stages(*MEMBERS[name])


def _design_points(n, seed=0):
    # RegNet's design space (Radosavovic et al. 2020, section 4): d < 64, w0 a multiple of 8
    # below 256, 0 < wa < 256, 1.5 <= wm <= 3, group widths of powers of two; and bottleneck
    # multipliers 1, 2 and 1/4 (their RegNet space keeps b = 1; torchvision takes any).
    rng = random.Random(seed)
    return [(rng.randrange(4, 40), 8 * rng.randrange(1, 32), round(rng.uniform(8, 200), 2),
             round(rng.uniform(1.5, 3.0), 2), 2 ** rng.randrange(0, 6), rng.choice([1.0, 2.0, 0.25]))
            for _ in range(n)]


@pytest.mark.parametrize("point", _design_points(24))
def test_design_space_points_stage_as_torchvision(point):
    depth, w0, wa, wm, g, b = point
    assert stages_of(build(depth, w0, wa, wm, g, b)) == torchvision_stages(depth, w0, wa, wm, g, b)
