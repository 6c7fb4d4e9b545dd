"""``Tournament(strategies, mechanism, market=...).play()``: a round robin of market "matches".

A *match* between strategies a and b is a market run in which the tournament's seats of
each role are split between a and b (half each, in a seat order drawn per repetition); a's
payoff against b is the mean utility per seat and step of a's seats. With ``mirror=True``
(default) every match is played twice, the second time with the two halves swapped, so
that neither strategy is favoured by the seats it drew (a seat's network position persists
over a run). A strategy also meets itself (every seat plays it). Every match of repetition
r is played on the *same* instance — the same network, private types and seat order, drawn
from repetition r's seed — so payoffs are paired across matches (common random numbers).

- ``market="relay"``: each match is a :class:`~auctionlab.models.relay.RelayMarket`
  run for ``turns`` steps (default 10) with the match's per-seat population; ``mechanism``
  is any relay mechanism (``"tasc"``, ``"trade_reduction"``, ``"vcg"``, ``"kda"``, ...);
  other keyword parameters go to the model (``n``, ``m``, ``vmax``, ``algorithm``,
  ``channel``, ``valuation``, ``types``, ``kda_k``, ...; default ``n = m = 16``). A strategy is
  one spec for both roles or ``{"buyer": spec, "seller": spec}``; ``roles`` says which roles
  hold tournament seats (the others report truthfully).
- ``market="exchange"``: each match is one :class:`~auctionlab.models.exchange.ExchangeMarket`
  (ICE) run to its close; the seats are the bidders, the payoff a bidder's final utility;
  ``mechanism`` is ``"ice"``; keyword parameters go to the model (``n_bidders``, ``n_goods``,
  ``bound_width``, ``max_rounds``, ...). Strategies are exchange proxies (straightforward,
  misreport, lazy, ...).

Odd seat counts: the first-listed strategy of a match gets the larger half of a role on a
coin flip drawn per repetition.

``format="invasion"`` plays every *ordered* pair instead: in match (a, b), ``focal`` seats per
role (drawn per repetition, the same in every match) play a and every other seat plays b;
a's payoff against b is the focal seats' mean. ``A[a, b]`` is then the payoff of a few
a-entrants in a b-population — the fitness that replicator and Moran dynamics read (with
``focal=1``, a unilateral deviation; ``A[b, b]`` is the focal seats' payoff when everyone
plays b, so entries are paired seat for seat).

Repetition r is :meth:`~Tournament.play_repetition` on ``Tournament.seeds[r]``; a study that
stores one repetition per run calls the same method with the run's seed, so its rows and a
``Tournament(...).play()`` on the same seeds are the same numbers. Exchange matches also
record the focal seats' utility under every registered payment rule (``payoff_<rule>``; the
bidding never sees payments, so one run gives them all), their traded units and the run's
efficiency, rounds and closing reason.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import check_bool, check_choice, check_int, check_rng
from auctionlab.errors import ConfigError
from auctionlab.strategies.base import Strategy
from auctionlab.strategies.exchange import ExchangeStrategy
from auctionlab.strategies.registry import strategy_from_spec
from auctionlab.tournament.classifier import filtered_strategies
from auctionlab.tournament.result_set import ResultSet

__all__ = ["FORMATS", "MARKETS", "Tournament"]

MARKETS = ("relay", "exchange")
FORMATS = ("pairs", "invasion")
RELAY_ROLES = ("buyer", "seller")
_RESERVED = ("population", "rng", "collect_agents")
_RELAY_DEFAULTS = {"n": 16, "m": 16}


def _label(roles: Mapping[str, Strategy]) -> str:
    labels = list(dict.fromkeys(s.label for s in roles.values()))
    if len(labels) == 1:
        return labels[0]
    return "/".join(f"{r}:{s.label}" for r, s in roles.items())


class Tournament:
    """A round robin of market matches between strategies (see the module docstring).

    ``strategies``: a list of specs (names, ``{"strategy", "params"}`` mappings or Strategy
    instances) or a mapping label -> spec; ``repetitions`` instances per match; ``rng`` seeds
    everything (same ``rng`` → identical results).
    """

    def __init__(
        self,
        strategies: Sequence[Any] | Mapping[str, Any],
        mechanism: Any = None,
        *,
        market: str = "relay",
        repetitions: int = 10,
        turns: int = 10,
        rng: Any = None,
        roles: Sequence[str] | None = None,
        mirror: bool = True,
        format: str = "pairs",
        focal: int = 1,
        **market_params: Any,
    ) -> None:
        self.market = check_choice(market, "market", MARKETS)
        self.repetitions = check_int(repetitions, "repetitions", minimum=1)
        self.turns = check_int(turns, "turns", minimum=1)
        self.mirror = check_bool(mirror, "mirror")
        self.format = check_choice(format, "format", FORMATS)
        self.focal = check_int(focal, "focal", minimum=1)
        clash = sorted(set(market_params) & set(_RESERVED))
        if clash:
            raise ConfigError(f"{clash} are set by the tournament itself; give strategies and rng= instead")
        if self.market == "relay":
            self.roles = tuple(RELAY_ROLES if roles is None else roles)
            bad = [r for r in self.roles if r not in RELAY_ROLES]
            if bad or not self.roles or len(set(self.roles)) != len(self.roles):
                raise ConfigError(f"roles must be distinct roles among {RELAY_ROLES}, got {roles!r}")
            self.mechanism = "tasc" if mechanism is None else mechanism
            self.market_params = {**_RELAY_DEFAULTS, **market_params}
        else:
            if roles is not None and tuple(roles) != ("bidder",):
                raise ConfigError(f"the exchange has one role, 'bidder'; got roles={roles!r}")
            self.roles = ("bidder",)
            if mechanism not in (None, "ice"):
                raise ConfigError(
                    f"the exchange market runs ICE: mechanism must be 'ice' (or omitted), got {mechanism!r}"
                )
            self.mechanism = "ice"
            self.market_params = dict(market_params)
        self.players, self._protos = self._parse(strategies)
        self._seed = int(check_rng(rng).integers(0, 2**63))
        self._check_market()

    # ------------------------------------------------------------------ setup
    def _parse(self, strategies: Any) -> tuple[list[str], list[dict[str, Strategy]]]:
        if isinstance(strategies, Mapping):
            items: list[tuple[str | None, Any]] = [(str(k), v) for k, v in strategies.items()]
        elif isinstance(strategies, (str, bytes)) or not isinstance(strategies, Sequence):
            raise ConfigError(f"strategies must be a list of specs or a mapping label -> spec, got {strategies!r}")
        else:
            items = [(None, v) for v in strategies]
        labels, protos = [], []
        for k, (label, spec) in enumerate(items):
            where = f"strategies[{label if label is not None else k}]"
            roles = self._roles_of(spec, where)
            labels.append(label if label is not None else _label(roles))
            protos.append(roles)
        if len(labels) < 2:
            raise ConfigError(f"a tournament needs at least two strategies, got {len(labels)}")
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ConfigError(f"strategy labels must be unique, got {dup} twice; give a mapping label -> spec")
        return labels, protos

    def _roles_of(self, spec: Any, where: str) -> dict[str, Strategy]:
        per_role = isinstance(spec, Mapping) and "strategy" not in spec and set(spec) <= set(RELAY_ROLES) and spec
        if per_role and self.market == "relay":
            missing = [r for r in self.roles if r not in spec]
            if missing:
                raise ConfigError(f"{where}: no spec for role(s) {missing}")
            specs = {r: spec[r] for r in self.roles}
        else:
            specs = {r: spec for r in self.roles}
        out = {}
        for role, sp in specs.items():
            try:
                s = strategy_from_spec(sp)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            if self.market == "exchange" and not isinstance(s, ExchangeStrategy):
                raise ConfigError(
                    f"{where}: {s.label!r} is not an exchange strategy; exchange bidders need an "
                    f"ICE proxy: {', '.join(filtered_strategies(market='exchange'))}"
                )
            flag = s.flag("role")
            if flag not in ("any", role):
                raise ConfigError(
                    f"{where}: {s.label!r} is for {flag}s only, not {role}s"
                    + (" (give roles=('buyer',) for a buyers-only tournament)" if self.market == "relay" else "")
                )
            out[role] = s
        return out

    def _check_market(self) -> None:
        """Build one market with the first strategy everywhere, so bad parameters fail now."""
        self._make({r: [p.clone() for p in [self._protos[0][r]] * self._seats(r)] for r in self.roles}, 0)

    def _seats(self, role: str) -> int:
        if self.market == "exchange":
            return int(self.market_params.get("n_bidders", 4))
        return int(self.market_params["n" if role == "buyer" else "m"])

    def _make(self, population: dict[str, list[Strategy]], seed: int):
        if self.market == "relay":
            from auctionlab.models.relay import RelayMarket

            return RelayMarket(
                mechanism=self.mechanism,
                population=population,
                collect_agents=False,
                rng=np.random.default_rng(seed),
                **self.market_params,
            )
        from auctionlab.models.exchange import ExchangeMarket

        return ExchangeMarket(
            population=population["bidder"], collect_agents=False, rng=np.random.default_rng(seed), **self.market_params
        )

    # ------------------------------------------------------------------ play
    def matches(self) -> list[tuple[int, int]]:
        """The matches of one repetition: with ``format="pairs"`` every pair ``(i, j)`` with
        ``i <= j`` (self-play included); with ``format="invasion"`` every ordered pair (focal i, background j)."""
        k = len(self.players)
        if self.format == "invasion":
            return [(i, j) for i in range(k) for j in range(k)]
        return list(itertools.combinations_with_replacement(range(k), 2))

    @property
    def seeds(self) -> list[np.random.SeedSequence]:
        """One SeedSequence per repetition (children of the tournament's ``rng``): repetition r
        is :meth:`play_repetition` on ``seeds[r]``."""
        return np.random.SeedSequence(self._seed).spawn(self.repetitions)

    def _seat_sides(self, gen: np.random.Generator) -> dict[str, np.ndarray]:
        """Per role, True where the match's first (pairs) or focal (invasion) strategy sits —
        the same seats in every match of a repetition."""
        out = {}
        for role in self.roles:
            size = self._seats(role)
            if self.format == "invasion":
                first = min(self.focal, size)
            else:  # an odd role: the first-listed strategy gets the larger half on a coin flip
                first = (size + int(gen.integers(0, 2))) // 2
            out[role] = gen.permutation(size) < first
        return out

    def _run(self, model) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]], dict[str, Any]]:
        """Play one match to its end: per role each seat's payoff (mean utility per step), extra
        per-seat payoff columns (the exchange: the utility under every payment rule) and
        match-level columns."""
        if self.market == "relay":
            for _ in range(self.turns):
                model.step()
            return {r: model.utility_history(r).mean(axis=0) for r in self.roles}, {}, {}
        from auctionlab.models.exchange import utilities_by_rule

        while model.running:
            model.step()
        res, names = model.result, model.names
        by_rule = utilities_by_rule(res, names, model.params["payment_rule"])
        trade = np.abs(np.asarray(res.allocation.trade_matrix)).sum(axis=1)
        extra = {f"payoff_{r}": np.array([u[b] for b in names]) for r, u in by_rule.items()}
        extra["units_traded"] = trade.astype(np.float64)
        info = {
            "efficiency": float(res.efficiency) if res.efficiency is not None else math.nan,
            "rounds": int(res.rounds),
            "closed_by": res.closed_by,
            "traded_units": int(trade.sum()),
        }
        return {"bidder": np.array([float(res.utilities[b]) for b in names])}, {"bidder": extra}, info

    def play_repetition(self, seed: np.random.SeedSequence, repetition: int = 0) -> list[dict[str, Any]]:
        """Every match of one repetition, on the instance drawn from ``seed``: the tidy rows of
        :attr:`ResultSet.interactions` (``repetition`` set to the given number). A run kind
        that stores one repetition per run calls this with the run's seed."""
        gen = np.random.default_rng(seed)
        market_seed = int(gen.integers(0, 2**63))
        sides = self._seat_sides(gen)
        rows: list[dict[str, Any]] = []
        for i, j in self.matches():
            pairs = self.format == "pairs"
            for seating in range(2 if pairs and self.mirror and i != j else 1):
                first = {r: sides[r] if seating == 0 else ~sides[r] for r in self.roles}
                # the prototypes themselves: the model builds every agent a clone of its entry
                population = {
                    r: [(self._protos[i] if side else self._protos[j])[r] for side in first[r]] for r in self.roles
                }
                util, extra, info = self._run(self._make(population, market_seed))
                for role in self.roles:
                    sides_of = [(i, j, first[role])]
                    if pairs and i != j:
                        sides_of.append((j, i, ~first[role]))
                    for who, other, mask in sides_of:
                        if pairs and i == j:
                            mask = np.ones_like(mask)
                        row = {
                            "repetition": repetition,
                            "seating": seating,
                            "player": self.players[who],
                            "opponent": self.players[other],
                            "role": role,
                            "payoff": float(util[role][mask].mean()),
                            "seats": int(mask.sum()),
                        }
                        row.update({c: float(v[mask].mean()) for c, v in extra.get(role, {}).items()})
                        row.update(info)
                        rows.append(row)
        return rows

    def play(self) -> ResultSet:
        """Play every match ``repetitions`` times; the tidy results as a :class:`ResultSet`."""
        rows = [row for rep, seed in enumerate(self.seeds) for row in self.play_repetition(seed, rep)]
        frame = pd.DataFrame(rows)
        return ResultSet(self.players, frame, repetitions=self.repetitions, meta=self.meta())

    def meta(self) -> dict[str, Any]:
        """What the result set records about the tournament that played it."""
        return {
            "market": self.market,
            "mechanism": str(getattr(self.mechanism, "name", self.mechanism)),
            "format": self.format,
            "turns": self.turns,
            "roles": self.roles,
            **({"focal": self.focal} if self.format == "invasion" else {}),
            **self.market_params,
        }

    def __repr__(self) -> str:
        return (
            f"Tournament({len(self.players)} strategies, market={self.market!r}, mechanism={self.mechanism!r}, "
            f"repetitions={self.repetitions})"
        )
