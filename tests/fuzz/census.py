"""Print how every catalogued bad input ends, by family: ``python -m tests.fuzz.census``."""

from __future__ import annotations

import sys
import time

from tests.fuzz.cases import census


def main() -> int:
    """``--timeout S`` counts a case still running after S seconds as a crash and caps memory
    at 4 GB (for measuring versions without the limits)."""
    timeout = int(sys.argv[sys.argv.index("--timeout") + 1]) if "--timeout" in sys.argv else 0
    if timeout:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
    t0 = time.perf_counter()
    res = census(timeout=timeout)
    bad = res.pop("_not_clear")
    print(f"{'family':<22}{'tried':>7}{'clear':>7}{'raw':>6}{'silent':>8}")
    tot = dict.fromkeys(("tried", "clear", "raw", "silent"), 0)
    for fam, c in res.items():
        print(f"{fam:<22}{c['tried']:>7}{c['clear']:>7}{c['raw']:>6}{c['silent']:>8}")
        for k in tot:
            tot[k] += c[k]
    print(f"{'total':<22}{tot['tried']:>7}{tot['clear']:>7}{tot['raw']:>6}{tot['silent']:>8}")
    for line in bad:
        print("  not clear:", line)
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
