"""The generated ResNet-50 against a hand-written one, side by side in one run (issue 3).

Baseline: ResNet-50 written by hand the way torchvision writes it (Bottleneck blocks,
`_make_layer`, `out += identity`, in-place ReLU, torchvision's init loop). The generated
module is `archdsl.load("zoo:resnet50").to_torch()`. The same weights are loaded into both
(batch-norm statistics randomised first, so that folding them is not a no-op), in eval mode,
batch 8 at 3x224x224, with a fixed number of threads. Rounds alternate between the models so
that a machine busy with something else slows all of them alike; medians are reported.

  forward       generated / hand-written          (target <= 1.03)
  forward fused generated with fuse_bn / hand     (target <= 0.90)
  construction  to_torch() / hand-written __init__ (target <= 1.3); also with parsing

Run: python bench/bench_resnet50.py [--threads N] [--rounds R] [--batch B] [--channels-last]
(prints a table; nothing is asserted)
"""
from __future__ import annotations

import argparse
import copy
import gc
import statistics
import time

import torch
import torch.nn as nn

import archdsl
from archdsl.backends.torch_backend import fuse_bn


# --------------------------------------------------------------------------- the baseline


def conv3x3(cin, cout, stride=1, groups=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet50(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * 4, stride),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --------------------------------------------------------------------------- measuring


def randomise_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def timed(fn):
    """(wall seconds, CPU seconds of this process) of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def alternate(fns: dict, rounds: int, base: str) -> dict:
    """Run every function once per round, in forward then reverse order (ABC CBA ...), and
    return per key: median wall time, median CPU time, and the median over rounds of the
    ratio to `base` measured in the same round (paired, so that a load that comes and goes
    on a shared machine hits both sides of a ratio alike)."""
    keys = list(fns)
    wall = {k: [] for k in keys}
    cpu = {k: [] for k in keys}
    for r in range(rounds):
        for k in (keys if r % 2 == 0 else keys[::-1]):
            # An fx GraphModule holds reference cycles (graph <-> nodes <-> module), so a
            # discarded one is freed by the cycle collector, at a moment that would land in
            # someone else's timing: collect before every measurement, outside it.
            gc.collect()
            w, c = timed(fns[k])
            wall[k].append(w)
            cpu[k].append(c)
    out = {}
    for k in keys:
        ratios = [a / b for a, b in zip(wall[k], wall[base])]
        cpu_ratios = [a / b for a, b in zip(cpu[k], cpu[base])]
        out[k] = (statistics.median(wall[k]), statistics.median(ratios),
                  statistics.median(cpu_ratios))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--channels-last", action="store_true",
                    help="also time both models in channels_last (for information)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    net = archdsl.load("zoo:resnet50")
    net.to_torch(), ResNet50()  # warm up
    build = alternate({
        "hand": lambda: ResNet50(),
        "generated": lambda: net.to_torch(),
        "generated+parse": lambda: archdsl.load("zoo:resnet50").to_torch(),
    }, rounds=max(args.rounds, 5), base="hand")

    hand = ResNet50()
    randomise_bn(hand)
    gen = net.to_torch()
    gen.load_state_dict(hand.state_dict(), strict=True)
    hand.eval(), gen.eval()
    fused = fuse_bn(gen)
    x = torch.randn(args.batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    models = {"hand": (hand, x), "generated": (gen, x), "fused": (fused, x)}
    if args.channels_last:
        cl = torch.channels_last
        xc = x.contiguous(memory_format=cl)
        models["hand_cl"] = (copy.deepcopy(hand).to(memory_format=cl), xc)
        models["fused_cl"] = (fuse_bn(gen).to(memory_format=cl), xc)
    with torch.inference_mode():
        ref = hand(x)
        diff = (gen(x) - ref).abs().max().item()
        fused_rel = ((fused(x) - ref).abs().max() / ref.abs().max()).item()
        for m, inp in models.values():  # warm up
            m(inp)
        fwd = alternate({k: (lambda m=m, inp=inp: m(inp)) for k, (m, inp) in models.items()},
                        rounds=args.rounds, base="hand")

    print(f"ResNet-50, eval, batch {args.batch}, 3x224x224, {args.threads} thread(s), "
          f"torch {torch.__version__}; {args.rounds} rounds, medians; ratios are medians of "
          f"per-round ratios to the hand-written model")
    print(f"outputs: generated vs hand max |diff| {diff:.2e}; fused vs hand relative "
          f"{fused_rel:.2e}")
    rows = [
        ("forward, hand-written", fwd["hand"], ""),
        ("forward, generated", fwd["generated"], "<= 1.03"),
        ("forward, generated fuse=True", fwd["fused"], "<= 0.90"),
    ]
    if args.channels_last:
        rows += [("forward, hand-written channels_last", fwd["hand_cl"], ""),
                 ("forward, fuse=True channels_last", fwd["fused_cl"], "")]
    rows += [
        ("construction, hand-written", build["hand"], ""),
        ("construction, to_torch()", build["generated"], "<= 1.3"),
        ("construction, load + to_torch()", build["generated+parse"], ""),
    ]
    print(f"{'':38} {'seconds':>8} {'ratio':>6} {'CPU ratio':>9}  target")
    for name, (t, r, c), target in rows:
        print(f"{name:38} {t:8.3f} {r:6.3f} {c:9.3f}  {target}")

if __name__ == "__main__":
    main()
