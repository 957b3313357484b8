"""Training a researcher can trust: CIFAR-10's python batches (made here, a few hundred images
in the format of the real ones), validation held out of the training batches, the test
batch read only for --test, standard augmentation, the training configuration recorded in
trials.csv and best.arch, and best.arch re-trained with it to the same accuracy; batches
read with an unpickler that runs no code.

Outside figures: CIFAR-10's batch format (a pickled dict of b"data", uint8 [N, 3072] rows
of R, G and B planes, and b"labels"; protocol 2 as the distributed files), torchvision's
RandomCrop(32, padding=4) + RandomHorizontalFlip written here with numpy, and pickle's own
`__reduce__` hook (a batch that would run a command).
"""
from __future__ import annotations

import csv
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archdsl.errors import ArchError

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "search" / "vgg.arch")

TINY = """
use "{vgg}"
space tiny(budget=2M) {{
  param w in [4, 8]
  require flops <= budget
  network vgg_net([w, 2 * w], [1, 1], 2, size=32)
}}
"""


def _images(rng, labels):
    """32x32 RGB images whose colour depends on the label (so training learns something)."""
    x = rng.randint(0, 120, (len(labels), 3, 32, 32)).astype(np.int64)
    for i, y in enumerate(labels):
        x[i, y % 3] += 12 * y
    return np.clip(x, 0, 255).astype(np.uint8).reshape(len(labels), 3072)


def make_cifar(root: Path, per_batch=(150, 150), test=100, protocol=2):
    """CIFAR-10's python batches: data_batch_1.. and test_batch."""
    rng = np.random.RandomState(0)
    root.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i + 1}": n for i, n in enumerate(per_batch)}
    batches["test_batch"] = test
    for name, n in batches.items():
        labels = [int(v) for v in rng.randint(0, 10, n)]
        d = {b"batch_label": name.encode(), b"labels": labels, b"data": _images(rng, labels),
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
        with open(root / name, "wb") as f:
            pickle.dump(d, f, protocol=protocol)
    return root


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    return make_cifar(tmp_path_factory.mktemp("data") / "cifar-10-batches-py")


def _settings(**kw):
    from archdsl.search.train import TrainSettings
    kw.setdefault("epochs", 1)
    kw.setdefault("batch_size", 32)
    kw.setdefault("threads", 1)
    return TrainSettings(**kw)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------- data


def test_validation_comes_from_the_training_batches(cifar):
    from archdsl.search.data import load_data
    d = load_data(str(cifar), [3, 32, 32], 10, _settings())
    assert d.name == "cifar10"
    assert len(d.y_train) + len(d.y_val) == 300 and len(d.y_val) == 30  # 10% of training
    assert d.x_test is None  # the test batch is not even read without --test

    def rows(name):
        with open(cifar / name, "rb") as f:
            return {bytes(r) for r in pickle.load(f, encoding="bytes")[b"data"]}
    train_rows = rows("data_batch_1") | rows("data_batch_2")
    test_rows = rows("test_batch")
    from archdsl.search import data as data_mod
    xt, xv, yt, yv, _test, split = data_mod._cifar(cifar, with_test=False)
    assert all(bytes(v.reshape(-1)) in train_rows for v in xv)
    assert not any(bytes(v.reshape(-1)) in test_rows for v in xv)
    assert "30 of the 300 images of data_batch_1..2" in split
    with_test = load_data(str(cifar), [3, 32, 32], 10, _settings(test=True))
    assert len(with_test.y_test) == 100
    with pytest.raises(ArchError, match="--test needs CIFAR-10's test_batch"):
        load_data(None, [1, 8, 8], 10, _settings(test=True))


def test_augmentation_is_torchvisions_crop_and_flip():
    """Each augmented image is np.pad(image, 4) (black padding) cropped back to 32x32 at some
    offset, flipped or not, as RandomCrop(32, padding=4) + RandomHorizontalFlip make it."""
    import torch
    from archdsl.search.train import augment_batch
    rng = np.random.RandomState(1)
    x = torch.from_numpy(rng.rand(64, 3, 32, 32).astype(np.float32))
    pad_value = torch.full((1, 3, 1, 1), -0.5)
    gen = torch.Generator().manual_seed(0)
    out = augment_batch(x, gen, "crop+flip", pad_value).numpy()
    offsets, flips = set(), 0
    for img, got in zip(x.numpy(), out):
        padded = np.pad(img, ((0, 0), (4, 4), (4, 4)), constant_values=-0.5)
        found = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (False, True)
                 if np.array_equal(got, (lambda c: c[:, :, ::-1] if f else c)(
                     padded[:, dy:dy + 32, dx:dx + 32]))]
        assert found, "not a padded crop (flipped or not) of its image"
        dy, dx, f = found[0]
        offsets.add((dy, dx))
        flips += f
    assert len(offsets) > 20 and 16 < flips < 48  # offsets vary; about half flipped
    again = augment_batch(x, torch.Generator().manual_seed(0), "crop+flip", pad_value).numpy()
    assert np.array_equal(out, again)  # seeded


# ---------------------------------------------------------------------- safe unpickling


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_a_crafted_batch_runs_no_code(tmp_path):
    from archdsl.search.data import load_data
    root = tmp_path / "evil"
    root.mkdir()
    target = tmp_path / "pwned"
    with open(root / "data_batch_1", "wb") as f:
        pickle.dump({b"data": _Exploit(target), b"labels": [0]}, f)
    with pytest.raises(ArchError, match=r"names (posix|os)\.system.*only containers"):
        load_data(str(root), [3, 32, 32], 10, _settings())
    assert not target.exists()
    # a CLI search reading it exits 1 with the message, and runs nothing either
    space = tmp_path / "tiny.arch"
    space.write_text(TINY.format(vgg=VGG))
    proc = subprocess.run([sys.executable, "-m", "archdsl", "search", str(space), "--objective",
                           "accuracy", "--data", str(root), "--trials", "1", "--out",
                           str(tmp_path / "out"), "--quiet"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "only containers, numbers, strings, bytes and numpy arrays" in proc.stderr
    assert not target.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_batches_of_every_protocol_are_read(tmp_path, protocol):
    from archdsl.search.data import load_pickle
    root = make_cifar(tmp_path / f"p{protocol}", per_batch=(20,), test=10, protocol=protocol)
    d = load_pickle(root / "data_batch_1")
    assert d[b"data"].dtype == np.uint8 and d[b"data"].shape == (20, 3072)
    with open(root / "object_array", "wb") as f:
        pickle.dump({b"data": np.array([_Exploit("x")], dtype=object)}, f, protocol=protocol)
    with pytest.raises(ArchError):
        load_pickle(root / "object_array")


# ---------------------------------------------------------------------- a search that trains


def test_accuracy_search_records_a_config_that_reproduces_its_accuracy(tmp_path, cifar):
    """A CLI search on the CIFAR-format data (1 epoch): trials.csv and best.arch hold the
    training configuration; best.arch re-trained with it gives the recorded accuracy."""
    from archdsl.search.records import read_train_config
    from archdsl.search.train import retrain
    space = tmp_path / "tiny.arch"
    space.write_text(TINY.format(vgg=VGG))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "archdsl", "search", str(space), "--objective",
                           "accuracy", "--data", str(cifar), "--sampler", "grid", "--epochs",
                           "1", "--batch-size", "32", "--lr", "0.01", "--seed", "5", "--test",
                           "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = _rows(out / "trials.csv")
    assert len(rows) == 2
    for r in rows:
        assert r["train_config.seed"] == "5" and r["train_config.epochs"] == "1"
        assert r["train_config.lr"] == "0.01" and r["train_config.batch_size"] == "32"
        assert r["train_config.augment"] == "crop+flip" and r["train_config.data"] == "cifar10"
        assert r["train_config.data_dir"] == str(cifar.resolve())
        assert "30 of the 300 images" in r["train_config.validation"]
        assert 0 <= float(r["test_accuracy"]) <= 1
    text = (out / "best.arch").read_text()
    config = read_train_config(text)
    assert config["seed"] == 5 and config["device"] == "cpu" and config["threads"] == 1
    assert "# test accuracy (reported only, never used to choose)" in text
    best = max(rows, key=lambda r: (float(r["value_accuracy"]), -int(r["number"])))
    acc, extra = retrain(out / "best.arch")
    assert acc == float(best["value_accuracy"])
    assert extra["train_config"]["data_sha256"] == best["train_config.data_sha256"]


def test_retrain_refuses_other_data(tmp_path, cifar):
    from archdsl.search.train import retrain
    arch = tmp_path / "n.arch"
    other = make_cifar(tmp_path / "other", per_batch=(100,), test=10)
    arch.write_text(f'use "{VGG}"\n# train-config: {{"seed": 0, "epochs": 1, "lr": 0.01, '
                    f'"batch_size": 32, "augment": "none", "data_dir": "{cifar}", '
                    f'"data_sha256": "0123456789abcdef", "threads": 1}}\n'
                    f'network n = vgg_net([4, 8], [1, 1], 2, size=32)\n')
    with pytest.raises(ArchError, match="trained on data with digest 0123456789abcdef"):
        retrain(arch, data_dir=str(other))
    plain = tmp_path / "plain.arch"
    plain.write_text(f'use "{VGG}"\nnetwork n = vgg_net([4, 8], [1, 1], 2, size=32)\n')
    with pytest.raises(ArchError, match="records no training configuration"):
        retrain(plain)


@pytest.mark.cuda
def test_training_on_cuda(cifar):
    """The CUDA path: mixed precision, channels_last, data on the GPU (bench/gpu_check.py
    runs this on a machine with one)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    import archdsl
    from archdsl.search.data import load_data
    from archdsl.search.train import train
    graph = archdsl.load(text=f'use "{VGG}"\nnetwork n = vgg_net([8, 16], [1, 1], 2, size=32)\n'
                         ).graph
    settings = _settings(device="cuda", epochs=2)
    data = load_data(str(cifar), [3, 32, 32], 10, settings)
    acc, extra = train(graph, data, settings)
    assert 0 <= acc <= 1
    assert extra["train_config"]["amp"] and extra["train_config"]["channels_last"]


def test_device_cuda_without_a_gpu_is_a_clean_error(tmp_path, cifar):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    space = tmp_path / "tiny.arch"
    space.write_text(TINY.format(vgg=VGG))
    proc = subprocess.run([sys.executable, "-m", "archdsl", "search", str(space), "--objective",
                           "accuracy", "--data", str(cifar), "--device", "cuda", "--trials",
                           "1", "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "CUDA is not available" in proc.stderr


def test_gpu_check_without_a_gpu_says_so_and_exits_0():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: run bench/gpu_check.py itself")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no CUDA device on this machine" in proc.stdout
