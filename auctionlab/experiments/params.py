"""Typed run parameters: a run kind's parameters as one frozen dataclass that is at once
its schema (field names and types), its defaults and its validation.

>>> from dataclasses import dataclass
>>> from auctionlab._validate import check_int
>>> @dataclass(frozen=True)
... class Sizes(Params):
...     n: int = 10
...     m: int = 5
...     def check(self):
...         check_int(self.n, "n", minimum=1)
...         check_int(self.m, "m", minimum=1)
>>> Sizes.defaults()
{'n': 10, 'm': 5}
>>> Sizes.from_mapping({"n": 20}).to_dict()
{'n': 20, 'm': 5}
>>> Sizes.from_mapping({"k": 1})
Traceback (most recent call last):
...
auctionlab.errors.ConfigError: unknown parameter(s) ['k']; accepted: n, m
>>> Sizes.from_mapping({"n": 0})
Traceback (most recent call last):
...
auctionlab.errors.ConfigError: n must be at least 1, got 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from auctionlab.errors import ConfigError

P = TypeVar("P", bound="Params")


@dataclasses.dataclass(frozen=True)
class Params:
    """Base class of a run kind's parameters (subclass as a frozen dataclass with defaults).

    ``check()`` validates the fields (raise :class:`~auctionlab.errors.ConfigError` naming the
    field); it runs on construction, so an instance is always valid.
    """

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Validate the fields; subclasses override (the base accepts anything)."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter with its default value."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
            else:
                raise ConfigError(f"parameter {f.name!r} of {cls.__name__} has no default")
        return out

    @classmethod
    def from_mapping(cls: type[P], mapping: Mapping[str, Any], *, where: str = "") -> P:
        """An instance from a spec's parameters: unknown names and bad values raise ConfigError."""
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"parameters{where} must be a mapping, got {type(mapping).__name__}")
        unknown = sorted(k for k in mapping if k not in cls.names())
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}{where}; accepted: {', '.join(cls.names())}")
        return cls(**mapping)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (what a run function receives)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
