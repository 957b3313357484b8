"""optuna-dashboard shows a search's best *feasible* trial, and the command the search prints
to open it works as printed.

Outside figure: the real `optuna-dashboard` package (a test dependency), started on
127.0.0.1 by the command `archdsl search` printed, asked through its HTTP API
(`/api/studies`, `/api/studies/ID`). It reads constraints from the trial system attr
`constraints` (a list, Optuna's format before 5) and picks the best trial by value alone
(`storage.get_best_trial`), so archdsl stores that list and gives infeasible trials the
worst value.
"""
from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "search" / "vgg.arch")
BUDGET = 20_000_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path, deadline):
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize("objective", ["flops", "max:flops,min:params"])
def test_dashboard_shows_the_best_feasible_trial(tmp_path, objective):
    pytest.importorskip("optuna_dashboard")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "archdsl", "search", VGG, "--trials", "40",
                           "--budget", str(BUDGET), "--objective", objective, "--seed", "3",
                           "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("dashboard: optuna-dashboard ")
    command = shlex.split(last[len("dashboard: "):])
    port = _free_port()
    server = subprocess.Popen(command + ["--port", str(port), "--quiet"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              executable=str(Path(sys.executable).parent / command[0]))
    try:
        deadline = time.time() + 60
        studies = _get(port, "/api/studies", deadline)["study_summaries"]
        (study,) = studies
        detail = _get(port, f"/api/studies/{study['study_id']}", deadline)
    finally:
        server.terminate()
        server.wait(30)

    def flops(trial):
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        return json.loads(attrs["info"])["flops"]

    trials = [t for t in detail["trials"] if t["state"] == "Complete"]
    over = [t for t in trials if "flops" in json.loads(
        {a["key"]: a["value"] for a in t["user_attrs"]}["info"]) and flops(t) > BUDGET]
    assert over, "the search should have tried networks over the budget"
    # the dashboard sees each trial's constraints, and over-budget trials as infeasible
    assert all(t["constraints"] for t in trials)
    assert all(any(c > 0 for c in t["constraints"]) for t in over)
    best = detail["best_trials"]
    assert best
    for t in best:
        assert all(c <= 0 for c in t["constraints"]), t["number"]
        assert flops(t) <= BUDGET
    if objective == "flops":  # and it is the best feasible trial: the most flops in budget
        feasible = [t for t in trials if all(c <= 0 for c in t["constraints"])]
        assert flops(best[0]) == max(flops(t) for t in feasible)
        assert max(flops(t) for t in over) > flops(best[0])
