"""Importing this module leaves a mark: the fuzz suite checks results are read without importing it."""

import os
from pathlib import Path

_mark = os.environ.get("AUCTIONLAB_TRAP_MARK")
if _mark:
    Path(_mark).write_text("imported\n")


def run(params, seed):  # pragma: no cover - the point is never to get here
    from auctionlab.experiments.kinds import RunOutput

    return RunOutput(runs=[{"x": 1.0}])
