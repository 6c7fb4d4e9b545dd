"""Old import paths, kept for one release: ``auctionlab.market.*`` and ``auctionlab.analysis.*``.

The package was reorganised so that its folders show the architecture (``mechanisms``,
``models``, ``report``, ``games``, ...). Importing a module by its old path still works and
gives the very same module object, with a :class:`DeprecationWarning` naming the new path.
These aliases will be removed in the next release (see CHANGELOG.md).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

from auctionlab.errors import InternalError

# old module -> new module; a name not listed is mapped by its longest listed prefix
OLD_PATHS: dict[str, str] = {
    "auctionlab.market": "auctionlab.mechanisms",
    "auctionlab.market.relay": "auctionlab.mechanisms.relay",
    "auctionlab.market.exchange": "auctionlab.mechanisms.exchange",
    "auctionlab.market.relay.model": "auctionlab.models.relay",
    "auctionlab.market.exchange.model": "auctionlab.models.exchange",
    "auctionlab.market.collect": "auctionlab.models.collect",
    "auctionlab.analysis": "auctionlab.report",
    "auctionlab.analysis.report": "auctionlab.report.html",
    "auctionlab.analysis.games": "auctionlab.games",
    "auctionlab.experiments.relay_runs": "auctionlab.studies.tasc_runs",
    "auctionlab.experiments.relay_studies": "auctionlab.studies.relay_strategic",
    "auctionlab.experiments.ice_runs": "auctionlab.studies.ice_runs",
    "auctionlab.experiments.ice_studies": "auctionlab.studies.ice_strategic",
    "auctionlab.experiments.mesa_runs": "auctionlab.studies.relay_market",
}


# Old packages whose modules moved to different places (``auctionlab.market.relay.model`` is now
# ``auctionlab.models.relay``): they are stand-in modules that forward attribute access to the
# new package, so that ``from auctionlab.market.relay import model`` finds the moved module.
# Every other old name is the very same module object as its new one.
STAND_INS = frozenset(
    {"auctionlab.market", "auctionlab.market.relay", "auctionlab.market.exchange", "auctionlab.analysis"}
)


def new_path(old: str) -> str | None:
    """The current module for an old dotted path (``None`` if it is not an old path).

    >>> new_path("auctionlab.market.relay.tasc")
    'auctionlab.mechanisms.relay.tasc'
    >>> new_path("auctionlab.market.relay.model")
    'auctionlab.models.relay'
    >>> new_path("auctionlab.mechanisms.relay") is None
    True
    """
    if old in OLD_PATHS:
        return OLD_PATHS[old]
    head, _, tail = old.rpartition(".")
    while head:
        if head in OLD_PATHS:
            return OLD_PATHS[head] + "." + old[len(head) + 1 :]
        head, _, _ = head.rpartition(".")
    return None


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        new = new_path(fullname)
        if new is None:
            return None
        target = importlib.util.find_spec(new)
        if target is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=target.submodule_search_locations is not None)

    def create_module(self, spec) -> ModuleType:
        new = new_path(spec.name)
        warnings.warn(
            f"{spec.name} is deprecated and will be removed in the next release; import {new} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        if new is None:  # find_spec only hands this loader old paths
            raise InternalError(f"{spec.name} is not an old import path")
        target = importlib.import_module(new)
        if spec.name not in STAND_INS:
            return target  # the same module object under both names
        stand_in = ModuleType(spec.name, target.__doc__)
        stand_in.__path__ = []  # its submodules are found by this finder, under their old names

        def forward(name: str):
            return getattr(target, name)

        stand_in.__getattr__ = forward  # type: ignore[method-assign]
        names = getattr(target, "__all__", None)
        if names is not None:
            stand_in.__all__ = list(names)  # type: ignore[attr-defined]  # modules may carry __all__
        return stand_in

    def exec_module(self, module: ModuleType) -> None:
        pass


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
