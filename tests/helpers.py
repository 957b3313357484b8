"""Helpers shared by tests: writing a file, a one-network program, reading the one error
message a command must print; a small ResNet and batch-norm statistics for torch tests."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "archdsl"
LOCATED = re.compile(r"^.+:\d+:\d+: error: \S")
TINY = "network tiny {\n  input [3, 8, 8]\n  conv(4, k=3, p=1); relu; gap; flatten; fc(2)\n}\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
    return p


def net(body: str) -> str:
    return "network m {\n  input [3, 8, 8]\n  " + body + "\n}\n"


def one_error(code, err: str) -> str:
    """Exit 1 and exactly one error message (argparse's usage line aside); returns it."""
    assert code == 1, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return errors[0]


def subprocess_check(*paths, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "archdsl", "check", *map(str, paths)],
                          capture_output=True, text=True, env=env, timeout=timeout)


SMALL_RESNET = """
network small(classes=10) {
  input [3, 32, 32]
  conv1: conv(16, k=3, p=1, bias=false); bn1: bn; relu
  layer1: stage(basic, 1, 16, 1)
  layer2: stage(basic, 1, 32, 2)
  avgpool: gap; flatten
  fc: fc(classes)
}
"""


def perturb_bn(model, seed=0):
    """Batch-norm statistics and affine parameters away from their initial 0 and 1, so
    that a test sees whether they are used."""
    import torch
    import torch.nn as nn
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


# Every kind of layer and merge, an aux head: for the backends' round trips.
MIXED = """
block head(classes) { gap; flatten; fc1: fc(16); relu; dropout(0.3); fc2: fc(classes) }
network mixed(classes=5) {
  input [3, 20, 20]
  stem: conv(6, k=3, s=2, p="same"); bn; relu
  lrn(size=3)
  c3: conv(8, k=3, p=1, table=[[0, 1, 2], [2, 3, 4], [4, 5, 0], [0, 1, 2, 3, 4, 5]])
  s4: subsample(2); scaled_tanh
  zeropad(1)
  b: bottleneck(4, reduction=4)
  parallel mean { conv(16, k=1); { conv(16, k=3, p=1); drop_path(0.2) } }
  aux side: head(classes) from b
  parallel concat { maxpool(3, s=1, p=1); resize(7, mode="nearest") }
  gap; flatten; dropout(0.5)
  fc: fc(classes)
}
"""
