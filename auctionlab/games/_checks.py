"""The games package's one check helper and the two number checks its solvers share.

``check(condition, error, message)`` raises ``error(message)`` when ``condition`` is false,
so a validation reads as one line per rule. Number checks go through
:mod:`auctionlab._validate`, the project's validation module.
"""

from __future__ import annotations

from typing import Any

from auctionlab._validate import check_float, check_int
from auctionlab.errors import ConfigError


def check(condition: Any, error: type[Exception], message: str) -> None:
    """Raise ``error(message)`` unless ``condition`` holds."""
    if not condition:
        raise error(message)


def nonneg(x: Any, name: str) -> float:
    """A finite number ``>= 0`` (parameters such as ``tol``, ``eps``, ``step``)."""
    return check_float(x, name, minimum=0.0, error=ConfigError)


def count(x: Any, name: str, lo: int) -> int:
    """An integer ``>= lo`` (iteration limits, trace periods)."""
    return check_int(x, name, minimum=lo, error=ConfigError)
