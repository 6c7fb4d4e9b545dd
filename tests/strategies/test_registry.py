import numpy as np
import pytest

from auctionlab.errors import ConfigError, UnknownNameError
from auctionlab.strategies import STRATEGIES, Observation, Scale, Strategy, make_strategy, strategy_from_spec
from auctionlab.strategies.relay import Noise, OwnRelayOnly


def test_registry_lists_the_library():
    assert set(STRATEGIES) == {
        "truthful",
        "scale",
        "shift",
        "noise",
        "drop_relays",
        "own_relay_only",
        "others_only",
        "best_response",
        "hedge",
        "exp3",
        "fictitious_play",
        "straightforward",
        "eager",
        "misreport",
        "lazy",
        "stubborn",
        "late_revealer",
        "learning_proxy",
        "affine",
        "affine_learner",
    }


def test_make_strategy_with_params_and_nested_specs():
    s = make_strategy("own_relay_only", base={"strategy": "scale", "params": {"theta": 0.5}})
    assert isinstance(s, OwnRelayOnly) and isinstance(s.base, Scale) and s.base.theta == 0.5
    out = s.report(np.array([1.0, 2.0]), Observation(0, "buyer", 0, info={"assigned": 1}))
    np.testing.assert_allclose(out, [1.0, 1.0])
    assert isinstance(make_strategy("scale", base="noise").base, Noise)
    proto = Scale(0.7)
    t = strategy_from_spec(proto)
    assert t is not proto and t.theta == 0.7  # instances are cloned, never shared


def test_unknown_names_and_parameters_are_clear_errors():
    with pytest.raises(UnknownNameError, match="available: affine, affine_learner, best_response"):
        make_strategy("shade")
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['theeta'\]; accepted: \['theta', 'base'\]"):
        make_strategy("scale", theeta=0.5)
    with pytest.raises(ConfigError, match="accepted: none"):
        make_strategy("truthful", theta=1.0)
    with pytest.raises(ConfigError, match="theta must be >= 0"):
        make_strategy("scale", theta=-0.5)
    with pytest.raises(ConfigError, match="sigma must be finite"):
        make_strategy("noise", sigma=float("nan"))
    with pytest.raises(UnknownNameError):
        make_strategy("scale", base={"strategy": "nope"})
    with pytest.raises(ConfigError, match="'strategy' key"):
        strategy_from_spec({"name": "scale"})
    with pytest.raises(ConfigError):
        strategy_from_spec(3.5)


def test_user_strategies_register_and_build():
    class Double(Strategy):
        name = "double"

        def report(self, true_type, obs):
            return true_type * 2

    STRATEGIES.register("double_test", Double)
    try:
        s = make_strategy("double_test")
        assert s.report(1.5, Observation(0, "seller", 0)) == 3.0
        assert s.flag("role") == "any" and s.clone() is not s
    finally:
        del STRATEGIES["double_test"]
    with pytest.raises(ConfigError, match="already registered"):
        STRATEGIES.register("scale", Scale)
