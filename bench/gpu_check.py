"""One GPU check, ready to run on a CUDA machine (under 5 minutes); without a GPU it says so
and exits 0.

1. The CUDA tests (`pytest -k cuda`: the training path's mixed precision and channels_last,
   the torch backend's device tests), which skip on a machine without CUDA.
2. The generated ResNet-50 against the hand-written one of bench/bench_resnet50.py, eval
   forward on the GPU, as ratios measured side by side: float32; float16 + channels_last;
   the generated one with batch norm folded (fuse_bn) in float16 + channels_last.
3. `to_torch(device="cuda")` of every zoo network and one forward pass (batch 1, eval).
4. One training epoch on CIFAR-format data (python batches made here) on the GPU: images/s
   of archdsl's training loop (search/train.py: AdamW, one-cycle, crop+flip, float16
   autocast, channels_last) against the same loop written by hand with plain PyTorch on the
   same network and data.

Run: python bench/gpu_check.py [--rounds R] [--batch B] [--images N]   (prints a report)
"""
from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def _sync_timed(fn, torch):
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t


def run_cuda_tests() -> bool:
    print("== 1. CUDA tests (pytest -k cuda)")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-k", "cuda", str(ROOT / "tests")], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)
    tail = proc.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print("   " + tail[0])
    return proc.returncode == 0


def resnet50_ratios(torch, rounds: int, batch: int) -> None:
    import copy

    import archdsl
    from archdsl.backends.torch_backend import fuse_bn
    from bench_resnet50 import ResNet50, randomise_bn
    print(f"== 2. ResNet-50 forward on {torch.cuda.get_device_name(0)}, eval, batch {batch}")
    hand = ResNet50()
    randomise_bn(hand)
    gen = archdsl.load("zoo:resnet50").to_torch()
    gen.load_state_dict(hand.state_dict(), strict=True)
    hand.eval(), gen.eval()
    fused = fuse_bn(gen)
    cl, half = torch.channels_last, torch.float16
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(0)).cuda()
    xh = x.half().contiguous(memory_format=cl)
    pairs = {
        "float32": (hand.cuda(), gen.cuda(), x),
        "float16 + channels_last": (copy.deepcopy(hand).to(dtype=half, memory_format=cl),
                                    copy.deepcopy(gen).to(dtype=half, memory_format=cl), xh),
        "fused, float16 + channels_last": (copy.deepcopy(hand).to(dtype=half, memory_format=cl),
                                           fused.cuda().to(dtype=half, memory_format=cl), xh),
    }
    with torch.inference_mode():
        for name, (h, g, inp) in pairs.items():
            for _ in range(3):
                h(inp), g(inp)
            ratios, hand_ms = [], []
            for r in range(rounds):
                order = [(h, "h"), (g, "g")] if r % 2 == 0 else [(g, "g"), (h, "h")]
                t = {k: _sync_timed(lambda m=m: m(inp), torch) for m, k in order}
                ratios.append(t["g"] / t["h"])
                hand_ms.append(t["h"] * 1000)
            print(f"   {name:32} generated / hand-written {statistics.median(ratios):.3f}  "
                  f"(hand-written {statistics.median(hand_ms):.1f} ms)")


def zoo_on_cuda(torch) -> bool:
    import archdsl
    from archdsl.commands.zoo import zoo_networks
    print("== 3. to_torch(device='cuda') of every zoo network, one forward")
    failed = []
    rows = zoo_networks()
    start = time.perf_counter()
    for row in rows:
        try:
            model = archdsl.load(f"zoo:{row['name']}").to_torch(device="cuda", seed=0)
            model.eval()
            with torch.inference_mode():
                out = model(torch.randn(1, *row["input"], device="cuda"))
            if not torch.isfinite(out).all():
                raise RuntimeError("non-finite output")
            del model
        except Exception as e:  # report every network, then the failures
            failed.append(f"{row['name']}: {type(e).__name__}: {e}")
        torch.cuda.empty_cache()
    print(f"   {len(rows) - len(failed)} of {len(rows)} networks built and ran "
          f"({time.perf_counter() - start:.1f} s)")
    for f in failed:
        print(f"   FAILED {f}")
    return not failed


def _cifar(root: Path, images: int) -> Path:
    import numpy as np
    rng = np.random.RandomState(0)
    root.mkdir(parents=True, exist_ok=True)
    labels = [int(v) for v in rng.randint(0, 10, images)]
    with open(root / "data_batch_1", "wb") as f:
        pickle.dump({b"data": rng.randint(0, 256, (images, 3072), dtype=np.uint8),
                     b"labels": labels}, f, protocol=2)
    return root


def hand_epoch(torch, model, x, y, pad_value, batch, lr, seed):
    """The training epoch of search/train.py written out with plain PyTorch."""
    import torch.nn.functional as F
    n = len(y)
    steps = n // batch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    scaler = torch.amp.GradScaler("cuda")
    gen = torch.Generator().manual_seed(seed)
    model.train()
    order = torch.randperm(n, generator=gen)
    b, c, h, w = batch, x.shape[1], x.shape[2], x.shape[3]
    for s in range(steps):
        idx = order[s * batch:(s + 1) * batch].cuda()
        xb = x[idx]
        padded = pad_value.expand(b, c, h + 8, w + 8).clone()
        padded[:, :, 4:4 + h, 4:4 + w] = xb
        dy = torch.randint(0, 9, (b,), generator=gen)
        dx = torch.randint(0, 9, (b,), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None]).cuda()
        cols = (dx[:, None] + torch.arange(w)[None]).cuda()
        xb = padded[torch.arange(b, device="cuda")[:, None, None, None],
                    torch.arange(c, device="cuda")[None, :, None, None],
                    rows[:, None, :, None], cols[:, None, None, :]]
        flip = (torch.rand(b, generator=gen) < 0.5).cuda()
        xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
        xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = F.cross_entropy(model(xb).float(), y[idx])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
    torch.cuda.synchronize()


def training_epoch(torch, images: int, batch: int) -> None:
    import archdsl
    from archdsl.search.data import load_data
    from archdsl.search.train import TrainSettings
    from archdsl.search.train import train
    from archdsl.backends.torch_backend import to_torch
    print(f"== 4. one training epoch on the GPU, CIFAR-format data ({images:,} images, "
          f"batch {batch}, crop+flip, float16 autocast, channels_last)")
    with tempfile.TemporaryDirectory() as tmp:
        root = _cifar(Path(tmp) / "cifar", images)
        graph = archdsl.load("zoo:resnet20").graph
        settings = TrainSettings(data=str(root), epochs=1, batch_size=batch, lr=2e-3,
                                 device="cuda", augment="crop+flip", threads=1)
        data = load_data(settings.data, [3, 32, 32], 10, settings)
        n = len(data.y_train) // batch * batch
        train(graph, data, settings)  # warm-up: cuDNN's autotuning, allocations
        results = {"archdsl": [], "hand": []}
        for r in range(3):
            for k in (("archdsl", "hand") if r % 2 == 0 else ("hand", "archdsl")):
                torch.cuda.synchronize()
                t = time.perf_counter()
                if k == "archdsl":
                    train(graph, data, settings)
                else:
                    model = to_torch(graph, seed=0, device="cuda",
                                     memory_format=torch.channels_last)
                    hand_epoch(torch, model, data.x_train.cuda(), data.y_train.cuda(),
                               data.pad_value.cuda(), batch, 2e-3, 0)
                torch.cuda.synchronize()
                results[k].append(n / (time.perf_counter() - t))
    a, h = (statistics.median(results[k]) for k in ("archdsl", "hand"))
    print(f"   {graph.graph['name']}: archdsl {a:,.0f} images/s, hand-written {h:,.0f} "
          f"images/s, ratio {a / h:.3f} (archdsl's includes building the model and the "
          f"validation pass)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32, help="ResNet-50 batch")
    ap.add_argument("--images", type=int, default=20000, help="training images")
    args = ap.parse_args()
    import torch
    if not torch.cuda.is_available():
        print(f"no CUDA device on this machine (torch {torch.__version__}, built with CUDA "
              f"{torch.version.cuda or 'none'}): nothing to check; run this on a machine "
              f"with a GPU")
        return 0
    start = time.perf_counter()
    ok = run_cuda_tests()
    resnet50_ratios(torch, args.rounds, args.batch)
    ok = zoo_on_cuda(torch) and ok
    training_epoch(torch, args.images, 128)
    print(f"done in {time.perf_counter() - start:.0f} s: {'all passed' if ok else 'FAILURES above'}")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    sys.exit(main())
