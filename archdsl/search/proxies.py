"""Zero-cost proxies, on one batch, of an untrained network (the torch backend's module):

- NASWOT (Mellor et al. 2021, "Neural Architecture Search without Training"): the binary
  codes of every ReLU's units over a batch give the kernel K[i, j] = number of units on
  which images i and j agree; the score is log |det K|.
- synflow (Tanaka et al. 2020): with every parameter replaced by its absolute value, batch
  norm in eval mode and an all-ones input, R = sum of the output; the score is
  sum over parameters of theta * dR/dtheta, reported as its natural log.

Imports torch; imported only for these objectives, and only for feasible trials.
"""
from __future__ import annotations

import math
import time

BATCH = 64


def _main(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def naswot(graph, x, seed: int = 0) -> float:
    import torch
    from ..backends.torch_backend import to_torch
    model = to_torch(graph, seed=seed)
    model.train()
    modules = dict(model.named_modules())
    relus = [modules[k] for k in graph.nodes if graph.nodes[k]["op"] == "relu" and k in modules]
    n = x.shape[0]
    k = torch.zeros(n, n, dtype=torch.float64)

    def hook(_module, _inputs, out):
        codes = (out.detach().reshape(n, -1) > 0).to(torch.float64)
        k.add_(codes @ codes.t() + (1 - codes) @ (1 - codes).t())

    handles = [m.register_forward_hook(hook) for m in relus]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    if not relus:
        return -math.inf
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet) if float(sign) != 0 else -math.inf


def synflow(graph, shape, seed: int = 0) -> float:
    import torch
    from ..backends.torch_backend import to_torch
    model = to_torch(graph, seed=seed, dtype=torch.float64)
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    x = torch.ones((1, *shape), dtype=torch.float64)
    r = _main(model(x)).sum()
    r.backward()
    total = 0.0
    for p in model.parameters():
        if p.grad is not None:
            total += float((p.detach() * p.grad).sum())
    if total <= 0:
        return -math.inf
    return math.log(total) if math.isfinite(total) else math.inf


def proxies(graph, data, settings) -> dict:
    import torch
    threads = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        return _proxies(graph, data, settings)
    finally:
        torch.set_num_threads(threads)


def _proxies(graph, data, settings) -> dict:
    start = time.perf_counter()
    x = data.x_train[:min(BATCH, len(data.x_train))]
    scores = {"naswot": naswot(graph, x, settings.seed),
              "synflow": synflow(graph, tuple(graph.graph["input_shape"]), settings.seed)}
    scores["proxy_seconds"] = round(time.perf_counter() - start, 3)
    return scores
