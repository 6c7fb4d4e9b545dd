"""A learning run in the exchange: ``ExchangeMarket.run_episodes`` with learning proxies.

A generated exchange (4 bidders x 3 goods, 8 nodes, ``max_rounds`` 10 by default), every
bidder a ``learning_proxy`` over the default deviation family (the paper's bidder,
shading to 0.9 / 0.8 / 0.7, lazy, late revealer, stubborn) with EXP3 (bandit, default) or
Hedge (``--learner hedge``: full information through counterfactual episodes — K − 1
reruns per bidder and episode on fresh instances, so expect it to be much slower).
Each episode is a fresh instance (``--fixed``: the same one, where Hedge's
counterfactuals come from the cache after the first episodes).

Printed: the time per episode (median, mean, 90th percentile), the counterfactual oracle
calls, how episodes closed, the learners' final weight on each arm (mean over bidders),
and — on the same instances in the same process (the instance sequence depends only on
the seed) — the same episodes with every bidder the paper's bidder: the ratio
learning / straightforward is what learning costs per episode.

Run: .venv/bin/python benchmarks/bench_exchange_learning.py [--episodes 200] [--n 4] [--m 3] [--learner exp3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from auctionlab.models.exchange import ExchangeMarket
from auctionlab.strategies.exchange_learning import LearningProxy


def timed_episodes(model: ExchangeMarket, k: int, fresh: bool) -> list[float]:
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        model.run_episodes(1, fresh=fresh)
        times.append(time.perf_counter() - t0)
    return times


def summary(times: list[float]) -> str:
    q90 = float(np.quantile(times, 0.9))
    return f"median {statistics.median(times):.3f} s, mean {statistics.fmean(times):.3f} s, p90 {q90:.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--m", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--max-rounds", type=int, default=10)
    ap.add_argument("--learner", choices=("exp3", "hedge"), default="exp3")
    ap.add_argument("--fixed", action="store_true", help="the same instance every episode")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-baseline", action="store_true", help="skip the straightforward episodes")
    args = ap.parse_args()
    size = {"n_bidders": args.n, "n_goods": args.m, "nodes": args.nodes, "max_rounds": args.max_rounds}
    fresh = not args.fixed

    proxy = LearningProxy(learner=args.learner, reward_range=(-10.0, 20.0))
    model = ExchangeMarket(**size, population=proxy, collect_agents=False, rng=args.seed)
    times = timed_episodes(model, args.episodes, fresh)
    eps = model.episodes_frame()
    print(
        f"learning run: {args.episodes} episodes, {args.n} bidders x {args.m} goods, {args.nodes} nodes, "
        f"max_rounds {args.max_rounds}, learner {args.learner}, {'fresh' if fresh else 'fixed'} instances"
    )
    print(f"time per episode: {summary(times)} (total {sum(times):.1f} s)")
    print(f"counterfactual oracle calls: {model.counterfactual_calls}")
    print(
        f"closed_by: {eps.drop_duplicates('episode').closed_by.value_counts().to_dict()}, "
        f"rounds per episode: mean {eps.drop_duplicates('episode').rounds.mean():.1f}"
    )
    learners = [a.strategy for a in model.bidders]
    p = np.mean([s.probabilities for s in learners], axis=0)
    for label, w in zip(learners[0].arm_labels, p):
        print(f"  weight {w:.3f}  {label}")
    if not args.no_baseline:
        base = ExchangeMarket(**size, population="straightforward", collect_agents=False, rng=args.seed)
        bt = timed_episodes(base, args.episodes, fresh)
        ratios = [a / b for a, b in zip(times, bt)]
        print(f"straightforward, same instances: {summary(bt)}")
        print(
            f"learning / straightforward per episode: median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
