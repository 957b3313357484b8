"""archdsl search: the design spaces of search/*.arch and the Optuna search over them.

Outside figures asserted here: seed 001's ResNeXt rule (G paths of width c cost what one
bottleneck of width C costs when 9Gc^2 + 8GCc - 17C^2 = 0; with C=64, G=4 gives c=24 and
G=32 gives c=4), its block costs (17HWC^2 for the bottleneck, HW(9Gc^2 + 8GCc) for G paths),
its VGG rule (3x3 convs, pools that halve, widths that double, so every stage costs the same
flops: 9 H^2 w^2 per width-keeping conv), and torchvision's resnext50_32x4d (params, macs).
"""
from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from optuna.trial import FixedTrial

import archdsl
from archdsl.errors import ArchError
from archdsl.search import load_spaces
from archdsl.search.study import SearchConfig, run_search

ROOT = Path(__file__).resolve().parent.parent
RESNEXT = str(ROOT / "search" / "resnext.arch")
VGG = str(ROOT / "search" / "vgg.arch")


def _run(tmp_path, space_file, name="out", **kw):
    kw.setdefault("progress", False)
    kw.setdefault("seed", 0)
    return run_search(SearchConfig(space_file, out=str(tmp_path / name), **kw))


def _points(result):
    """(trial, rebuilt point) of every trial whose network was built."""
    out = []
    for space, study in result.studies:
        for t in study.get_trials(deepcopy=False):
            if t.state.name != "COMPLETE":
                continue
            p = space.sample(FixedTrial(t.params))
            if p.graph is not None:
                out.append((t, p))
    return out


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------- ResNeXt rule


def _c_star(G, C):
    """The positive root of 9Gc^2 + 8GCc - 17C^2 = 0 (seed 001), by the quadratic formula."""
    a, b, c = 9 * G, 8 * G * C, -17 * C * C
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)


@pytest.mark.parametrize("G,want", [(4, 24), (32, 4)])
def test_resnext_seed_examples(G, want):
    space = load_spaces(RESNEXT)[0]
    p = space.sample(FixedTrial(dict(G=G, C=64, d1=1, d2=1, d3=1, d4=0)), build=False)
    assert p.derived["c"] == want
    assert p.derived["c_equation"] == pytest.approx(_c_star(G, 64), rel=1e-9)
    # the same width found through the cost model: flops(G paths) == flops(G=1 template)
    assert p.derived["c_flops"] == pytest.approx(p.derived["c_equation"], rel=1e-9)


def _block_flops(rows, prefix):
    return sum(r["flops"] for r in rows if r["name"].startswith(prefix + "."))


def test_resnext_blocks_cost_the_template_in_every_trial(tmp_path):
    """Every trial: every bottleneck block of the seed's form (4C channels in and out, stride
    1: all but a stage's first block, which reads the previous stage's 2C channels and
    strides) costs HW(9Gc^2 + 8GCc), and the template's 17HWC^2 lies within what rounding c
    can reach. Stage i has C*2^i and c*2^i, so its rounding slack is 2^i/2."""
    result = _run(tmp_path, RESNEXT, trials=25, objective="flops")
    checked = trials = 0
    for t, p in _points(result):
        trials += 1
        G, C, c = t.params["G"], t.params["C"], p.derived["c"]
        assert c == round(_c_star(G, C))
        rows = archdsl.Network(p.graph).summary()["layers"]
        scopes = p.graph.graph["scopes"]
        for path, sc in scopes.items():
            if sc["kind"] != "resnext_block" or path.endswith(".0"):
                continue
            stage = int(path.split(".")[0][len("layer"):]) - 1
            Ci, ci, slack = C * 2 ** stage, c * 2 ** stage, 0.5 * 2 ** stage
            _, h, w = p.graph.nodes[path + ".conv1"]["shape"]
            got = _block_flops(rows, path)
            assert got == h * w * (9 * G * ci ** 2 + 8 * G * Ci * ci)

            def cost(x):
                return h * w * (9 * G * x ** 2 + 8 * G * Ci * x)
            assert cost(ci - slack) <= 17 * h * w * Ci ** 2 <= cost(ci + slack)
            checked += 1
    assert trials >= 10 and checked >= 20


def test_resnext_flops_rule_gives_the_same_widths(tmp_path):
    space = load_spaces(RESNEXT, args={"rule": "flops"})[0]
    for G in (1, 2, 4, 8, 16, 32, 64):
        p = space.sample(FixedTrial(dict(G=G, C=32, d1=2, d2=2, d3=2, d4=0)), build=False)
        assert p.derived["c"] == round(_c_star(G, 32))


# ---------------------------------------------------------------------------- VGG rule


@pytest.mark.parametrize("cap", [512, 64])
def test_vgg_rule_every_stage_costs_the_same(tmp_path, cap):
    """Seed 001's design rule: a 3x3 conv that keeps its stage's width w_i at resolution
    H/2^i costs 9 (H/2^i)^2 w_i^2 = 9 H^2 w^2 while widths double; once a width is capped it
    costs 4x less per capped doubling."""
    result = _run(tmp_path, VGG, trials=20, objective="flops", args={"cap": cap})
    seen = 0
    for t, p in _points(result):
        w, size = t.params["w"], 32
        g = p.graph
        for key in g.nodes:
            d = g.nodes[key]
            if d["op"] != "conv":
                continue
            (src,) = list(g.predecessors(key))
            c_in = g.nodes[src]["shape"][0]
            if c_in != d["shape"][0]:
                continue  # the first conv of a stage changes the width
            h = d["shape"][1]
            stage = int(math.log2(size // h))
            flops = archdsl.analysis.node_cost(g, key)["flops"]
            lost = max(0, stage - int(math.log2(cap // w))) if w * 2 ** stage > cap else 0
            assert flops == 9 * size ** 2 * w ** 2 // 4 ** lost
            seen += 1
    assert seen > 0


# ---------------------------------------------------------------------------- the search


def test_flops_search_end_to_end_without_torch(tmp_path):
    """50 trials of a flops search: no torch imported, every feasible trial within budget,
    every output written, best.arch a concrete network that builds and compiles."""
    out = tmp_path / "run"
    code = ("import sys; from archdsl.cli import main; "
            f"rc = main(['search', {RESNEXT!r}, '--trials', '50', '--budget', '60M', "
            f"'--out', {str(out)!r}, '--seed', '1']); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "optuna-dashboard sqlite:///" in proc.stdout
    for name in ("best.arch", "trials.csv", "edf.png", "study.db"):
        assert (out / name).exists(), name
    rows = _csv(out / "trials.csv")
    assert len(rows) == 50
    for r in rows:
        if r["feasible"] == "True":
            assert int(r["flops"]) <= 60_000_000
        elif r["flops"]:  # built (so c >= 1 held): over budget
            assert int(r["flops"]) > 60_000_000
    best = max((r for r in rows if r["feasible"] == "True"), key=lambda r: int(r["flops"]))
    net = archdsl.load(str(out / "best.arch"))
    assert net.name == "best"
    assert net.totals()["flops"] == int(best["flops"])
    from archdsl.cli import main
    assert main(["compile", str(out / "best.arch")]) == 0


def test_over_budget_trials_are_never_trained(tmp_path, monkeypatch):
    import archdsl.search.train as train_mod
    budget = 1_000_000
    trained = []

    def fake_train(graph, data, settings, trial=None):
        flops = archdsl.analysis.totals(graph)["flops"]
        assert flops <= budget
        trained.append(flops)
        return 0.5, {}

    monkeypatch.setattr(train_mod, "train", fake_train)
    from archdsl.search.objectives import Evaluator
    monkeypatch.setattr(Evaluator, "data", lambda self, shape, classes: None)
    result = _run(tmp_path, VGG, trials=12, objective="accuracy", args={"budget": budget},
                  defines=[("size", "16")])
    trials = [t for _, s in result.studies for t in s.get_trials(deepcopy=False)]
    infeasible = [t for t in trials if any(v > 0 for v in t.constraints.values())]
    feasible = [t for t in trials if t.state.name == "COMPLETE" and t not in infeasible]
    assert infeasible and feasible
    assert len(trained) == len(feasible)
    for t in infeasible:
        assert "train_seconds" not in t.user_attrs


TINY = """
use "{vgg}"
space tiny(budget=100k) {{
  param w in [4, 8, 64]
  require flops <= budget
  network vgg_net([w, 2 * w], [1, 1], 2, size=8)
}}
"""


def test_accuracy_and_proxy_searches_run(tmp_path):
    """Real training (1 epoch on 300 of the digits at 8x8) and real proxies, a few trials of
    a tiny VGG space (w=64 is over its budget)."""
    from archdsl.search.train import TrainSettings
    space = tmp_path / "tiny.arch"
    space.write_text(TINY.format(vgg=VGG))
    settings = TrainSettings(epochs=1, train_limit=300)
    # the grid: each of the three widths once
    r1 = _run(tmp_path, str(space), "acc", objective="accuracy", settings=settings,
              sampler="grid")
    assert len(r1.studies[0][1].trials) == 3
    rows = _csv(tmp_path / "acc" / "trials.csv")
    feasible = [r for r in rows if r["feasible"] == "True"]
    assert feasible and len(feasible) < len(rows)
    assert all(0 < float(r["value_accuracy"]) <= 1 and float(r["train_seconds"]) > 0
               for r in feasible)
    assert all(r["value_accuracy"] == "" and r["train_seconds"] == ""
               for r in rows if r["feasible"] == "False")
    assert r1.evaluator.trained == len(feasible)
    assert archdsl.load(str(tmp_path / "acc" / "best.arch")).totals()["flops"] <= 100_000
    _run(tmp_path, str(space), "proxy", objective="proxy,flops", settings=settings,
         sampler="grid")
    rows = _csv(tmp_path / "proxy" / "trials.csv")
    feasible = [r for r in rows if r["feasible"] == "True"]
    assert feasible and all(math.isfinite(float(r["naswot"])) and
                            math.isfinite(float(r["synflow"])) for r in feasible)
    assert (tmp_path / "proxy" / "pareto.png").exists()
    assert (tmp_path / "proxy" / "best.arch").exists()


def test_resume_after_interrupt(tmp_path, monkeypatch):
    """Interrupted after k trials, run again with T trials: k + T trials in one storage."""
    from archdsl.search.space import Space
    real = Space.sample
    calls = {"n": 0}

    def interrupting(self, trial, build=True):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(self, trial, build)

    monkeypatch.setattr(Space, "sample", interrupting)
    first = _run(tmp_path, VGG, trials=100, objective="flops")
    assert first.interrupted
    (_, study), = first.studies
    k = len([t for t in study.get_trials(deepcopy=False) if t.state.is_finished()
             and t.state.name == "COMPLETE"])
    assert k == 4
    assert (tmp_path / "out" / "trials.csv").exists()
    monkeypatch.setattr(Space, "sample", real)
    second = _run(tmp_path, VGG, trials=6, objective="flops")
    (_, study), = second.studies
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    assert len(complete) == k + 6
    assert len({t.number for t in complete}) == k + 6
    params = {tuple(sorted(t.params.items())) for t in complete}
    assert len(params) > k + 3  # the resumed sampler does not replay the first run


def test_out_refuses_another_study(tmp_path):
    _run(tmp_path, VGG, trials=2)
    with pytest.raises(ArchError, match="another search"):
        _run(tmp_path, VGG, trials=2, study="other")
    _run(tmp_path, VGG, trials=1, study="other", force=True)
    with pytest.raises(ArchError, match="other settings"):
        _run(tmp_path, VGG, trials=1, study="other", args={"budget": 10_000_000})


def test_enqueue_resnext50_is_a_point_of_the_space(tmp_path, torchvision_reference):
    ref = torchvision_reference["resnext50_32x4d"]
    result = _run(tmp_path, RESNEXT, trials=1, objective="flops", enqueue=["zoo:resnext50"],
                  defines=[("size", "224"), ("stages", "4"), ("classes", "1000")],
                  args={"budget": 5_000_000_000})
    (_, study), = result.studies
    t = study.trials[0]
    assert t.user_attrs["enqueued"] == "zoo:resnext50"
    assert t.params == {"G": 32, "C": 64, "d1": 3, "d2": 4, "d3": 6, "d4": 3}
    assert t.user_attrs["info"]["derived"]["c"] == 4
    assert t.user_attrs["info"]["params"] == ref["params"]
    assert t.user_attrs["info"]["macs"] == ref["macs"]


def test_space_errors_are_located(tmp_path):
    bad = tmp_path / "bad.arch"
    bad.write_text("network n(w) {\n  input [3, 8, 8]\n  conv(w, k=3, p=1)\n}\n"
                   "space bad() {\n  param w in 3\n  network n(w)\n}\n")
    with pytest.raises(ArchError) as e:
        _run(tmp_path, str(bad), trials=1)
    assert "bad.arch:6" in e.value.format()
    with pytest.raises(ArchError, match="no parameter 'nope'"):
        load_spaces(VGG, defines=[("nope", "1")])
    two = tmp_path / "two.arch"  # its stem names none of its two spaces
    two.write_text(Path(VGG).read_text())
    with pytest.raises(ArchError, match="several spaces"):
        load_spaces(str(two))
    from archdsl.cli import main
    assert main(["search", VGG, "--space", "nope", "--out", str(tmp_path / "x")]) == 1


# ---------------------------------------------------------------------------- distributed


def _pg_bin(name):
    import glob
    import shutil
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server (Debian's binaries) on a Unix socket; yields a URL."""
    import shutil
    import tempfile
    pytest.importorskip("psycopg2")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed")
    root = tempfile.mkdtemp(prefix="archdsl-pg-", dir="/tmp")
    os.chmod(root, 0o755)
    prefix = []
    if os.geteuid() == 0:  # the server refuses to run as root
        import pwd
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user")
        shutil.chown(root, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(root, "data"), 54329

    def sh(*cmd):
        return subprocess.run(prefix + list(cmd), capture_output=True, text=True, timeout=120)

    r = sh(initdb, "-D", data, "-A", "trust", "-U", "archdsl", "--no-sync")
    if r.returncode:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {r.stderr[-300:]}")
    r = sh(pg_ctl, "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
           f"-p {port} -k {root} -c listen_addresses='' -c fsync=off", "start")
    try:
        assert r.returncode == 0, r.stderr
        r = sh(_pg_bin("createdb") or "createdb", "-h", root, "-p", str(port), "-U", "archdsl",
               "search")
        assert r.returncode == 0, r.stderr
        yield f"postgresql+psycopg2://archdsl@/search?host={root}&port={port}"
    finally:
        sh(pg_ctl, "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_postgres_study(tmp_path, postgres):
    """Two `archdsl search` processes on one study in PostgreSQL: the sum of their trials,
    numbered distinctly."""
    import optuna
    procs = [subprocess.Popen(
        [sys.executable, "-m", "archdsl", "search", VGG, "--storage", postgres, "--study",
         "shared", "--trials", "12", "--seed", str(i), "--out", str(tmp_path / f"w{i}")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    study = optuna.load_study(study_name="shared", storage=postgres)
    trials = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    assert len(trials) == 24
    assert len({t.number for t in trials}) == 24
    workers = {t.user_attrs["info"]["worker"] for t in trials}
    assert len(workers) == 2


# ---------------------------------------------------------------------------- data


def test_data_loaders(tmp_path):
    """Digits (bundled), an image folder and CIFAR-10's python batches, each resized to the
    network's input with a fixed stratified split."""
    import pickle

    import numpy as np
    from PIL import Image

    from archdsl.search.data import load_data
    from archdsl.search.train import TrainSettings
    s = TrainSettings()
    d = load_data(None, [3, 16, 16], 10, s)
    assert d.name == "digits" and d.classes == 10
    assert len(d.y_train) + len(d.y_val) == 1797  # scikit-learn's digits
    assert tuple(d.x_train.shape[1:]) == (3, 16, 16)
    with pytest.raises(ArchError, match="10 classes"):
        load_data(None, [1, 8, 8], 5, s)

    folder = tmp_path / "images"
    rng = np.random.RandomState(0)
    for label in ("cat", "dog"):
        (folder / label).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.randint(0, 255, (12, 10, 3), dtype=np.uint8)).save(
                folder / label / f"{i}.png")
    d = load_data(str(folder), [1, 8, 8], 2, s)
    assert d.classes == 2 and len(d.y_train) + len(d.y_val) == 10
    assert tuple(d.x_val.shape[1:]) == (1, 8, 8)

    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    for name in ("data_batch_1", "test_batch"):
        with open(cifar / name, "wb") as f:
            pickle.dump({b"data": rng.randint(0, 255, (20, 3072), dtype=np.uint8),
                         b"labels": [i % 10 for i in range(20)]}, f)
    d = load_data(str(cifar), [3, 32, 32], 10, s)
    # validation held out of the training batch (10%); the test batch is not read
    assert d.name == "cifar10" and len(d.y_train) == 18 and len(d.y_val) == 2
    assert d.x_test is None


def test_a_require_inside_an_if_is_a_constraint_of_every_trial(tmp_path):
    """A `require` that only one branch reaches still constrains the trials that take it,
    and every trial records it (0 when its branch did not run), so the samplers that model
    each constraint see the same number of them in every trial."""
    space = tmp_path / "s.arch"
    space.write_text(
        "network net(w) {\n  input [3, 8, 8]\n  conv(w, k=3, p=1); gap; flatten; fc(10)\n}\n"
        "space s(budget=1G) {\n"
        "  param w in [4, 8, 16, 32]\n"
        "  if w > 8 {\n    require params <= 2000\n  }\n"
        "  network net(w)\n}\n")
    result = _run(tmp_path, str(space), trials=12, objective="params", sampler="random")
    (_, study), = result.studies
    trials = study.get_trials(deepcopy=False)
    assert trials
    for t in trials:
        named = {k.split(":", 1)[1]: v for k, v in t.system_attrs.items()
                 if k.startswith("constraints:")}
        assert "params <= 2000" in named
        w = t.params["w"]
        # conv 3x3 (3*9*w + w) plus fc (10*w + 10): over 2,000 exactly for w = 32.
        params = 28 * w + 10 * w + 10
        assert (named["params <= 2000"] > 0) == (w > 8 and params > 2000)
