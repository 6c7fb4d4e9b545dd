"""Exchange proxy strategies on scripted feedback: exact bounds for every rule."""

import numpy as np
import pytest

from auctionlab.errors import ConfigError, InvalidInputError, UnknownNameError
from auctionlab.strategies import (
    STRATEGIES,
    LateRevealer,
    Lazy,
    Misreport,
    Observation,
    Scale,
    Straightforward,
    StraightforwardProxy,
    Stubborn,
    bind,
    make_strategy,
)
from auctionlab.strategies.exchange import Eager, ExchangeStrategy, narrow

from .instances import EXCHANGE_LOWER as LO
from .instances import EXCHANGE_TRUTH as TRUTH
from .instances import EXCHANGE_UPPER as HI
from .instances import feedback, rp

# TRUTH = [0, 6, -4, 3, 2, -1], LO = [0, 2, -8, 1, 0, -3], HI = [0, 10, -1, 5, 4, 0]
FAIL = rp(False, raise_lower=[1, 3], lower_upper=[2])  # Lemma 2 names lower 1, 3 and upper 2


def ask(strategy, fb, truth=TRUTH):
    lo, hi = strategy.report(truth, Observation(fb.round, "bidder", 0, info={"feedback": fb}))
    return np.asarray(lo, dtype=float).tolist(), np.asarray(hi, dtype=float).tolist()


# ---------------------------------------------------------------------- straightforward
def test_straightforward_reveals_nothing_the_rule_does_not_ask_for():
    s = Straightforward(0.5)  # the paper's bidder
    for fb in (
        feedback(LO, HI, round=0),
        feedback(LO, HI, round=1),
        feedback(LO, HI, rp_result=rp(True), queries=1),
        feedback(LO, HI, round=5, satisfied=[True] * 6),
    ):
        assert ask(s, fb) == (LO.tolist(), HI.tolist())
    assert make_strategy("straightforward").reveal == "rp"


def test_eager_reveals_a_fraction_each_round_and_nothing_in_round_zero():
    s = Eager(0.5)
    assert make_strategy("eager").reveal == "all" and Eager().label.startswith("eager")
    assert ask(s, feedback(LO, HI, round=0)) == (LO.tolist(), HI.tolist())
    assert ask(s, feedback(LO, HI, round=1)) == ([0, 4, -6, 2, 1, -2], [0, 8, -2.5, 4, 3, -0.5])
    prov = Straightforward(0.5, reveal="provisional")
    sat = [False, True, False, False, True, False]
    assert ask(prov, feedback(LO, HI, satisfied=sat)) == ([0, 4, -8, 1, 1, -3], [0, 8, -1, 5, 3, 0])
    assert ask(Straightforward(0.5, reveal="rp"), feedback(LO, HI)) == (LO.tolist(), HI.tolist())
    # a later query of the same round (the check passed) reveals nothing more
    assert ask(s, feedback(LO, HI, rp_result=rp(True), queries=1)) == (LO.tolist(), HI.tolist())


def test_straightforward_narrows_both_bounds_on_the_symmetric_difference():
    s = Straightforward(0.5)
    got = ask(s, feedback(LO, HI, rp_result=FAIL, queries=1))
    assert got == ([0, 4, -6, 2, 0, -3], [0, 8, -2.5, 4, 4, 0])
    # after snap_after failed checks in one round the named nodes go straight to the truth
    got = ask(Straightforward(0.5, snap_after=3), feedback(LO, HI, rp_result=FAIL, queries=3))
    assert got == ([0, 6, -4, 3, 0, -3], [0, 6, -4, 3, 4, 0])
    # small gaps snap onto the truth
    lo = LO.copy()
    lo[1] = 6 - 1e-7
    assert ask(s, feedback(lo, HI, rp_result=FAIL, queries=1))[0][1] == 6.0


def test_straightforward_targets_the_truth_clipped_into_the_bounds_and_reveals_at_the_end():
    hi = HI.copy()
    hi[1] = 5.0  # a penalty pushed the upper bound below the truth (6)
    lo, up = ask(Straightforward(1.0), feedback(LO, hi, rp_result=FAIL, queries=1))
    assert lo[1] == up[1] == 5.0
    final = feedback(LO, hi, final=True)
    assert ask(Straightforward(0.5, final="truth"), final) == ([0, 5, -4, 3, 2, -1], [0, 5, -4, 3, 2, -1])
    # final="rp": the final round is not special — the first query still reveals ρ of the gap
    assert ask(Straightforward(0.5), feedback(LO, HI, round=2, final=True)) == ask(
        Straightforward(0.5), feedback(LO, HI, round=2)
    )


def test_narrow_helper():
    lo, hi = narrow(LO, HI, TRUTH, [1, 5], 0.25, which="upper")
    assert lo.tolist() == LO.tolist() and hi.tolist() == [0, 9, -1, 5, 4, -0.25]
    lo, hi = narrow(LO, HI, TRUTH, [], 0.5)
    assert lo.tolist() == LO.tolist() and lo is not LO


# ---------------------------------------------------------------------- lazy
def test_lazy_moves_only_the_bounds_lemma_2_names():
    s = Lazy(0.5)
    assert ask(s, feedback(LO, HI)) == (LO.tolist(), HI.tolist())  # no revelation of its own
    got = ask(s, feedback(LO, HI, rp_result=FAIL, queries=1))
    assert got == ([0, 4, -8, 2, 0, -3], [0, 10, -2.5, 5, 4, 0])


def test_lazy_falls_back_when_lemma_2_moves_are_exhausted():
    lo = np.array([0, 6, -8, 3, 0, -3.0])  # named lower bounds already at the truth
    hi = np.array([0, 10, -4, 5, 4, 0.0])  # named upper bound already at the truth
    fb = feedback(lo, hi, rp_result=FAIL, queries=2)
    # "narrow": the straightforward move on sat(L*) Δ sat(U*) = {1, 2, 3}, both bounds
    assert ask(Lazy(0.5), fb) == ([0, 6, -6, 3, 0, -3], [0, 8, -4, 4, 4, 0])
    # "penalty": give up (bounds unchanged, the exchange penalises)
    assert ask(Lazy(0.5, fallback="penalty"), fb) == (lo.tolist(), hi.tolist())


def test_lazy_patience_counts_failed_checks_in_the_round():
    fb = feedback(LO, HI, rp_result=FAIL, queries=2)
    assert ask(Lazy(0.5, patience=2), fb) == ([0, 4, -8, 2, 0, -3], [0, 10, -2.5, 5, 4, 0])  # still lazy
    assert ask(Lazy(0.5, patience=1), fb) == ask(Straightforward(0.5), fb)  # fallback
    assert ask(Lazy(0.5, patience=1, fallback="penalty"), fb) == (LO.tolist(), HI.tolist())
    assert ask(Lazy(0.5, patience=0), feedback(LO, HI, rp_result=FAIL, queries=1)) == ask(
        Straightforward(0.5, reveal="rp"), feedback(LO, HI, rp_result=FAIL, queries=1)
    )


# ---------------------------------------------------------------------- stubborn, late revealer
def test_stubborn_never_narrows():
    s = Stubborn()
    for fb in (feedback(LO, HI), feedback(LO, HI, rp_result=FAIL, queries=3), feedback(LO, HI, final=True)):
        assert ask(s, fb) == (LO.tolist(), HI.tolist())


def test_late_revealer_waits_for_the_final_round():
    s = LateRevealer()  # base: Lazy
    assert ask(s, feedback(LO, HI, round=3)) == (LO.tolist(), HI.tolist())
    assert ask(s, feedback(LO, HI, rp_result=FAIL, queries=1)) == ask(
        Lazy(), feedback(LO, HI, rp_result=FAIL, queries=1)
    )
    hi = HI.copy()
    hi[3] = 2.5  # penalised below the truth (3)
    assert ask(s, feedback(LO, hi, round=4, final=True)) == ([0, 6, -4, 2.5, 2, -1], [0, 6, -4, 2.5, 2, -1])
    silent = LateRevealer(Stubborn())
    assert ask(silent, feedback(LO, HI, rp_result=FAIL, queries=1)) == (LO.tolist(), HI.tolist())
    assert ask(silent, feedback(LO, HI, final=True)) == (TRUTH.tolist(), TRUTH.tolist())


# ---------------------------------------------------------------------- misreport
def test_misreport_transform_on_a_hand_tree():
    v = np.array([0.0, 10.0, -5.0, 3.0, -2.0, 0.0])  # root, buy leaf, sell leaf, bonus, swap cost, plain node
    assert Misreport(0.2).lie(v).tolist() == pytest.approx([0, 8, -6, 2.4, -2.4, 0])
    assert Misreport(0.2, sides="buy").lie(v).tolist() == pytest.approx([0, 8, -5, 2.4, -2, 0])
    assert Misreport(0.2, sides="sell").lie(v).tolist() == pytest.approx([0, 10, -6, 3, -2.4, 0])
    assert Misreport(0.0).lie(v).tolist() == v.tolist()
    assert v.tolist() == [0.0, 10.0, -5.0, 3.0, -2.0, 0.0]  # never mutated


def test_misreport_is_straightforward_around_the_lie_clipped_into_the_bounds():
    s = Misreport(0.5, base=Eager())  # lie = [0, 3, -6, 1.5, 1, -1.5], inside the bounds
    assert ask(s, feedback(LO, HI)) == ([0, 2.5, -7, 1.25, 0.5, -2.25], [0, 6.5, -3.5, 3.25, 2.5, -0.75])
    s = Misreport(0.5)  # around the paper's bidder: only what a failed check asks, toward the lie
    assert ask(s, feedback(LO, HI)) == (LO.tolist(), HI.tolist())
    assert ask(s, feedback(LO, HI, rp_result=FAIL, queries=1)) == (
        [0, 2.5, -7, 1.25, 0, -3],
        [0, 6.5, -3.5, 3.25, 4, 0],
    )
    s = Misreport(1.0, base=Straightforward(final="truth"))  # lie = [0, 0, -8, 0, 0, -2], clipped to the bounds
    assert ask(s, feedback(LO, HI, final=True)) == ([0, 2, -8, 1, 0, -2], [0, 2, -8, 1, 0, -2])
    s = Misreport(0.5, base=Lazy())
    assert ask(s, feedback(LO, HI, rp_result=FAIL, queries=1)) == ([0, 2.5, -8, 1.25, 0, -3], [0, 10, -3.5, 5, 4, 0])


# ---------------------------------------------------------------------- library plumbing
def test_classifiers_labels_and_registry():
    for name in ("straightforward", "misreport", "lazy", "stubborn", "late_revealer"):
        s = make_strategy(name)
        assert isinstance(s, ExchangeStrategy) and STRATEGIES[name] is type(s)
        assert s.classifier["role"] == "bidder" and s.label.startswith(name)
    assert Straightforward().classifier["truthful"] is True
    assert Misreport(0.0).classifier["truthful"] is True and Misreport(0.0).classifier["deviation"] is None
    assert Misreport(0.3).classifier["deviation"] == "misreport"
    assert Lazy().classifier == {**Lazy().classifier, "truthful": False, "deviation": "lazy"}
    assert LateRevealer().label == "late_revealer" and LateRevealer(Stubborn()).label == "late_revealer(base=stubborn)"
    assert Misreport(0.3).label == "misreport(strength=0.3, sides=both)"
    nested = make_strategy("misreport", strength=0.1, base={"strategy": "lazy", "params": {"patience": 2}})
    assert isinstance(nested.base, Lazy) and nested.base.patience == 2
    assert nested.clone().label == nested.label and nested.clone().base is not nested.base
    with pytest.raises(UnknownNameError):
        make_strategy("straightforwrd")


def test_clone_and_reset_round_trip_on_a_scripted_run():
    steps = [
        feedback(LO, HI, round=1),
        feedback(LO, HI, rp_result=FAIL, queries=1),
        feedback(LO, HI, final=True, round=2),
    ]
    for s in (Straightforward(0.3, final="truth"), Lazy(0.7), Stubborn(), LateRevealer(), Misreport(0.4, base=Lazy())):
        first = [ask(s, fb) for fb in steps]
        s.reset()
        assert [ask(s, fb) for fb in steps] == first
        assert [ask(s.clone(), fb) for fb in steps] == first


@pytest.mark.parametrize(
    "factory, words",
    [
        (lambda: Straightforward(0), "step"),
        (lambda: Straightforward(1.5), "step"),
        (lambda: Straightforward(reveal="some"), "reveal"),
        (lambda: Straightforward(final="never"), "final"),
        (lambda: Straightforward(snap_after=0), "snap_after"),
        (lambda: Lazy(patience=-1), "patience"),
        (lambda: Lazy(fallback="cry"), "fallback"),
        (lambda: Misreport(1.5), "strength"),
        (lambda: Misreport(-0.1), "strength"),
        (lambda: Misreport(0.1, sides="left"), "sides"),
        (lambda: Misreport(0.1, base=Scale(0.5)), "exchange strategy"),
        (lambda: LateRevealer(base="lazy"), "exchange strategy"),
        (lambda: make_strategy("lazy", patiense=3), "unknown parameter"),
    ],
)
def test_bad_parameters(factory, words):
    with pytest.raises(ConfigError, match=words):
        factory()


def test_bad_observations():
    s = Straightforward()
    with pytest.raises(ConfigError, match="feedback"):
        s.report(TRUTH, Observation(0, "bidder", 0))
    with pytest.raises(InvalidInputError, match="3 node values, the bid tree 6"):
        s.report(TRUTH[:3], Observation(0, "bidder", 0, info={"feedback": feedback(LO, HI)}))


def test_binding_a_strategy_to_a_truth():
    p = bind(Lazy(0.5), TRUTH, index=2, bidder="b2")
    assert p.revise(feedback(LO, HI, rp_result=FAIL, queries=1)) is not None
    assert [a.tolist() for a in p.revise(feedback(LO, HI, rp_result=FAIL, queries=1))] == [
        [0, 4, -8, 2, 0, -3],
        [0, 10, -2.5, 5, 4, 0],
    ]
    assert not p.truth.flags.writeable
    sp = StraightforwardProxy(TRUTH, 0.5)
    assert isinstance(sp.strategy, Straightforward) and sp.classifier["truthful"]
    fb = feedback(LO, HI, round=1)
    assert [a.tolist() for a in sp.revise(fb)] == list(ask(Straightforward(0.5), fb))
    with pytest.raises(ConfigError, match="exchange strategy"):
        bind(Scale(0.5), TRUTH)
    with pytest.raises(InvalidInputError, match="finite"):
        StraightforwardProxy([0.0, np.nan])
    with pytest.raises(InvalidInputError, match="1-D"):
        bind(Stubborn(), np.zeros((2, 2)))


def test_snapping_is_in_the_exchanges_value_unit():
    from dataclasses import replace

    lo, hi = LO.copy(), HI.copy()
    lo[4] = 2 - 3e-7  # within snap of the truth 2 at unit scale (1e-6 · (1 + 2))
    for f in (1.0, 1e-9, 1e6):
        fb = replace(feedback(lo * f, HI * f, rp_result=rp(False, [4], []), queries=1), scale=f)
        got_lo, _ = Straightforward(0.5).decide(TRUTH * f, fb)
        assert got_lo[4] == (TRUTH * f)[4]  # snapped at every unit
    # without the unit the absolute term would snap everything at 1e-9
    fb = feedback(LO * 1e-9, HI * 1e-9, rp_result=rp(False, [1], []), queries=1)
    assert Straightforward(0.5).decide(TRUTH * 1e-9, fb)[0][1] == (TRUTH * 1e-9)[1]
    fb = replace(fb, scale=1e-9)
    assert Straightforward(0.5).decide(TRUTH * 1e-9, fb)[0][1] == pytest.approx(4e-9)


def test_the_papers_bidder_goes_straight_to_the_truth_when_queries_run_short():
    from dataclasses import replace

    fb = feedback(LO, HI, rp_result=FAIL, queries=1)
    half = ([0, 4, -6, 2, 0, -3], [0, 8, -2.5, 4, 4, 0])
    assert ask(Straightforward(0.5), fb) == half
    assert ask(Straightforward(0.5), replace(fb, max_queries=50)) == half
    # 5 nodes still open and only 4 checks left: the named nodes go straight to the truth
    assert ask(Straightforward(0.5), replace(fb, max_queries=5)) == ([0, 6, -4, 3, 0, -3], [0, 6, -4, 3, 4, 0])
    # eager and lazy keep the previous rule (snap_after only)
    assert ask(Eager(0.5), replace(fb, max_queries=5)) == half
