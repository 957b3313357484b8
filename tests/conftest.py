"""Test helpers: the vendored reference figures (tests/reference/, see its README) and running
the CLI in-process."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT / "tests" / "reference"
REFERENCE = REFERENCE_DIR / "torchvision.json"
TIMM_REFERENCE = REFERENCE_DIR / "timm.json"


@pytest.fixture(scope="session")
def torchvision_reference() -> dict:
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="session")
def timm_reference() -> dict:
    return json.loads(TIMM_REFERENCE.read_text())


@pytest.fixture
def run_cli(capsys):
    """Run `archdsl ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from archdsl.cli import main

    def run(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's --help and usage errors
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch tests run on one thread: steadier on a shared 2-core machine, and the figures
    they assert do not depend on it."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
