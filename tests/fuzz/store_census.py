"""Damage shards of a finished experiment in every catalogued way and count how reading and
resuming end: ``python -m tests.fuzz.store_census``.

Reading: "clear" (a StoreError naming the shard), "raw" (another exception), "silent" (rows
returned that differ from the stored ones) or "unchanged" (a flip in bytes nobody decodes:
the very same rows). Resuming: whether it finished, and rows lost / duplicated / changed.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from auctionlab.errors import AuctionlabError
from auctionlab.experiments.runner import run_experiment
from tests.fuzz.test_fuzz_store import _damage, compare, frames, spec


def main() -> int:
    t0 = time.perf_counter()
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        clean, foreign = root / "clean", root / "foreign"
        run_experiment(spec(), clean)
        run_experiment(spec(seed=99), foreign)
        ref = frames(clean)
        kinds = (
            [("truncate", rng.random()) for _ in range(6)]
            + [("empty", 0.0)]
            + [("flip", rng.random()) for _ in range(30)]
            + [("garbage", rng.random()) for _ in range(3)]
            + [("foreign", 0.0)]
        )
        counts: dict[str, int] = {
            "tried": 0,
            "clear": 0,
            "raw": 0,
            "silent": 0,
            "unchanged": 0,
            "resume_blocked": 0,
            "lost": 0,
            "duplicated": 0,
            "changed": 0,
        }
        notes = []
        for i, (how, where) in enumerate(kinds):
            for table in ("runs", "agents"):
                out = root / f"d{i}-{table}"
                shutil.copytree(clean, out)
                shard = sorted((out / table).glob("shard-*.parquet"))[rng.randrange(5)]
                _damage(shard, how, where, foreign)
                counts["tried"] += 1
                try:
                    got = frames(out)
                except AuctionlabError as exc:
                    counts["clear" if shard.name in str(exc) else "raw"] += 1
                except Exception as exc:  # noqa: BLE001
                    counts["raw"] += 1
                    notes.append(f"{how}@{where:.3f} {table}: {type(exc).__name__}")
                else:
                    same = compare(ref, got) == {"lost": 0, "duplicated": 0, "changed": 0}
                    counts["unchanged" if same else "silent"] += 1
                try:
                    run_experiment(spec(), out)
                    res = compare(ref, frames(out))
                    for k in ("lost", "duplicated", "changed"):
                        counts[k] += res[k]
                except Exception as exc:  # noqa: BLE001
                    counts["resume_blocked"] += 1
                    notes.append(f"resume after {how} {table}: {type(exc).__name__}: {str(exc)[:100]}")
        print(counts)
        for n in notes[:20]:
            print("  ", n)
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
