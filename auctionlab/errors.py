"""The project's exception types.

Every error caused by bad input subclasses :class:`InvalidInputError` (itself a
``ValueError``) so callers can catch "the input is at fault" separately from solver or
internal failures. Messages always name the offending value or path.
"""

from __future__ import annotations


class AuctionlabError(Exception):
    """Base class of every exception raised on purpose by auctionlab."""


class InvalidInputError(AuctionlabError, ValueError):
    """The caller's input is at fault (wrong shape, NaN, negative price, bad config ...)."""


class ShapeError(InvalidInputError):
    """An array has the wrong number of dimensions or the wrong length."""


class InvalidReportError(InvalidInputError):
    """A bid, ask or value is non-finite, negative or otherwise not a valid report."""


class InvalidAssignmentError(InvalidInputError):
    """A relay assignment is not one-to-one or points outside the relays."""


class NetworkError(InvalidInputError):
    """A wireless network cannot be built from the given sizes, positions or capacities."""


class ConfigError(InvalidInputError):
    """An unknown name (algorithm, strategy, mechanism) or an invalid parameter value."""


class UnknownNameError(ConfigError, KeyError):
    """A registry lookup by a name that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class BidTreeError(InvalidInputError):
    """A TBBL bid tree or exchange description is malformed."""


class RevisionError(InvalidInputError):
    """An iterative-exchange bound revision breaks the monotonicity or structure rules."""


class SolverError(AuctionlabError, RuntimeError):
    """An optimisation model could not be solved (infeasible where it must not be, solver failure)."""


class StateError(AuctionlabError, RuntimeError):
    """An object is used in a state that does not allow the call (an exchange that has not
    closed yet, a store held by another writer, a model stepped after its end ...)."""


class InternalError(AuctionlabError, RuntimeError):
    """An internal invariant broke: a bug in auctionlab, not a fault of the input. Please report it."""
