"""Dynamics solvers say when they did not converge, and why."""

from __future__ import annotations

import numpy as np
import pytest
from auctionlab.analysis import games as old

from auctionlab.errors import SolverError
from auctionlab.games import SOLVERS, EmpiricalGame, solve

ROW = np.array([[3.0, 0.0], [5.0, 1.0]])
PD = EmpiricalGame.from_tensor(np.stack([ROW, ROW.T]), strategies=[["C", "D"], ["C", "D"]])
RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])


@pytest.mark.parametrize("name", ["replicator_dynamics", "regret_matching", "fictitious_play"])
def test_iteration_limit_is_reported(name):
    g = EmpiricalGame.from_tensor(np.stack([RPS, -RPS]))
    res = solve(g, name, start=[[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]], max_iter=20, tol=1e-12)
    assert not res.converged and res.status == "max_iter" and res.regret > 1e-6
    with pytest.raises(SolverError, match=f"{name} did not converge \\(max_iter\\)"):
        res.require_converged()
    ok = solve(PD, name)
    assert ok.converged and ok.status == "converged" and ok.require_converged() is ok


def test_stalled_replicator_is_reported():
    res = solve(PD, "replicator_dynamics", start=PD.pure_mixture(("C", "C")), floor=0.0)
    assert not res.converged and res.status == "stalled" and res.regret == 2.0


def test_old_module_reexports_the_same_objects():
    for name in old.__all__:
        assert getattr(old, name) is getattr(__import__("auctionlab.games", fromlist=[name]), name)
    assert old.SOLVERS is SOLVERS
