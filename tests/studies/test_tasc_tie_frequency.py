"""TASC as written under both step-5 tie rules in the relay-manipulation study: the sweep of
``tasc_tie``, the variant names, and the manipulation frequency under both denominators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.relay.mechanisms import TASC, TradeReduction
from auctionlab.studies.relay_common import split_variant, tie_rule_of, variant_label, variant_setting
from auctionlab.studies.relay_manipulation import section
from auctionlab.studies.relay_strategic import (
    ManipulationParams,
    TournamentParams,
    mechanism_settings,
    run_manipulation,
    variant_name,
    variants,
)


def test_a_listed_mechanism_parameter_is_swept_on_the_same_instances():
    p = ManipulationParams.defaults() | {
        "n": 8,
        "m": 8,
        "mechanisms": ["tasc", "trade_reduction"],
        "algorithms": ["mwm"],
        "tasc_tie": ["second", "first"],
        "agents": 0,
    }
    ManipulationParams.from_mapping(p)  # accepted
    assert mechanism_settings(p) == [{"kda_k": 0.5, "tasc_tie": "second"}, {"kda_k": 0.5, "tasc_tie": "first"}]
    # trade reduction has no tie rule: one variant, not two
    assert variants(p) == [(TASC("second"), "mwm"), (TASC("first"), "mwm"), (TradeReduction(), "mwm")]
    out = run_manipulation(p, np.random.SeedSequence(4))
    assert [r["variant"] for r in out.runs] == ["tasc/mwm", "tasc/mwm [tie=first]", "trade_reduction/mwm"]
    assert out.agents is not None and set(out.agents["variant"]) == {r["variant"] for r in out.runs}
    for bad in ([], ["first", "first"]):
        with pytest.raises(ConfigError, match="tasc_tie must be a value or a non-empty list"):
            ManipulationParams.from_mapping({**p, "tasc_tie": bad})
    with pytest.raises(ConfigError, match="tasc_tie must be one of 'second', 'first'"):
        ManipulationParams.from_mapping({**p, "tasc_tie": ["second", "third"]})
    with pytest.raises(ConfigError, match="tasc_tie must be one of"):  # only relay-manipulation sweeps
        TournamentParams.from_mapping({**TournamentParams.defaults(), "tasc_tie": ["second", "first"]})


def test_variant_names_keep_the_first_setting_plain():
    assert variant_name(TASC(), "mwm", TASC()) == "tasc/mwm"
    assert variant_name(TASC("first"), "mm", TASC()) == "tasc/mm [tie=first]"
    assert variant_name(TASC("first"), "mm", TASC("first")) == "tasc/mm"  # a spec whose only tie rule is "first"
    v = "tasc/ora [tie=first]"
    assert split_variant(v) == ("tasc", "ora") and variant_setting(v) == "tie=first"
    assert variant_label(v) == "TASC / ORA (tie=first)" and variant_setting("tasc/ora") == ""
    assert section.tie_of(v, "second") == "first" and section.tie_of("tasc/ora", "second") == "second"
    assert tie_rule_of({"tasc_tie": ["first", "second"]}) == "first"
    assert tie_rule_of({}) == "second"


def agents_frame() -> pd.DataFrame:
    """Two grid points, 40 sampled agents per (point, variant), 24 of them candidates; under
    the tie rule "second" 2 (point 10) / 3 (point 20) candidates gain, under "first" 4 / 6."""
    rows = []
    for n in (10, 20):
        for variant, gains in (("tasc/mwm", {10: 2, 20: 3}), ("tasc/mwm [tie=first]", {10: 4, 20: 6})):
            for i in range(40):
                relevant = i < 24
                rows.append(
                    {
                        "run_id": n,
                        "n": n,
                        "m": n,
                        "vmax": 4.0,
                        "variant": variant,
                        "mechanism": "tasc",
                        "algorithm": "mwm",
                        "role": "buyer" if i % 2 else "seller",
                        "relevant": relevant,
                        "profitable": relevant and i < gains[n],
                        "max_gain": 0.5 if relevant and i < gains[n] else 0.0,
                    }
                )
    return pd.DataFrame(rows)


def test_frequency_under_both_tie_rules_and_both_denominators():
    f = section.tie_frequency(agents_frame(), "second").set_index(["n", "tie"])
    assert f.loc[(10, "second"), "share_of_all_agents"] == pytest.approx(2 / 40)
    assert f.loc[(10, "second"), "share_of_candidates"] == pytest.approx(2 / 24)
    assert f.loc[(20, "first"), "share_of_all_agents"] == pytest.approx(6 / 40)
    assert f.loc[(20, "first"), "share_of_candidates"] == pytest.approx(6 / 24)
    assert f.loc[(20, "first"), "agents"] == 40 and f.loc[(20, "first"), "candidates"] == 24
    assert f.loc[("all", "first"), "share_of_all_agents"] == pytest.approx(10 / 80)
    assert f.loc[("all", "second"), "candidates_fraction"] == pytest.approx(0.6)
    assert f.loc[("all", "first"), "tie_pair"] == "(s_{i_α}, r_{j_k})"


def test_the_rare_verdict_is_given_per_tie_rule_and_denominator():
    agents = agents_frame()
    freq = section.tie_frequency(agents, "second")
    summary = pd.DataFrame(columns=["variant", "role", "share_profitable", "share_lo", "share_hi"])
    claims = section._tasc_claim(agents, summary, ["tasc/mwm", "tasc/mwm [tie=first]"], freq, "second")
    assert len(claims) == 4
    got = {(c.statement.split("tie rule '")[1][:5].strip("'"), "candidates" in c.statement): c for c in claims}
    # "second": 5 / 80 agents (6.25%) and 5 / 48 candidates (10.4%: above the 10% bound)
    assert got[("secon", False)].verdict == "agrees" and got[("secon", False)].n == 80
    assert got[("secon", True)].verdict == "partly" and got[("secon", True)].n == 48
    assert got[("first", False)].verdict == "partly" and "10 of 80 (12.50%)" in got[("first", False)].evidence
    assert all("[reading: tie rule" in c.statement and "share of" in c.statement for c in claims)
