"""What compile's progress bar costs the forward pass it times, as ratios measured side by
side in one run: the bar's counting hook (a global module forward hook, registered only when
standard error is a terminal) against the same forward pass without it, alternating.

1. One module call (nn.Identity): the hook's cost per call, in microseconds.
2. The forward pass of zoo:resnet50 at 3x64x64 (small convs, so the per-call cost weighs
   more than at 224x224): hooked / plain, the median of alternating runs.

Run: python bench/bench_progress.py   (prints the figures; nothing is asserted)
"""
from __future__ import annotations

import statistics
import time


def _hooked(torch, hook):
    return torch.nn.modules.module.register_module_forward_hook(hook)


def per_call(torch, calls=20000, rounds=9):
    m, x = torch.nn.Identity(), torch.zeros(1)

    def loop():
        t = time.perf_counter()
        for _ in range(calls):
            m(x)
        return (time.perf_counter() - t) / calls
    plain, hooked = [], []
    for _ in range(rounds):
        plain.append(loop())
        handle = _hooked(torch, lambda mod, i, o: None)
        hooked.append(loop())
        handle.remove()
    return statistics.median(plain), statistics.median(hooked)


def forward(torch, rounds=21):
    import archdsl
    model = archdsl.load("zoo:resnet50", input_shape=(3, 64, 64)).to_torch().eval()
    x = torch.randn(1, 3, 64, 64)
    count = [0]

    def hook(module, inputs, output):  # what compile's _count_calls does
        if module is not model:
            count[0] += 1

    def once(with_hook):
        handle = _hooked(torch, hook) if with_hook else None
        t = time.perf_counter()
        with torch.inference_mode():
            model(x)
        dt = time.perf_counter() - t
        if handle is not None:
            handle.remove()
        return dt
    for _ in range(3):
        once(False), once(True)
    ratios, plain = [], []
    for _ in range(rounds):
        a, b = once(False), once(True)
        plain.append(a)
        ratios.append(b / a)
    calls = sum(1 for n in model.graph.nodes if n.op == "call_module")
    return statistics.median(plain), statistics.median(ratios), calls


def main():
    import torch
    torch.set_num_threads(1)
    a, b = per_call(torch)
    print(f"one module call: {a * 1e6:.2f} us plain, {b * 1e6:.2f} us hooked "
          f"(+{(b - a) * 1e6:.2f} us per call)")
    t, ratio, calls = forward(torch)
    print(f"resnet50 3x64x64 forward ({calls} module calls): {t * 1e3:.1f} ms plain, "
          f"hooked/plain {ratio:.3f} (median of alternating pairs)")


if __name__ == "__main__":
    main()
