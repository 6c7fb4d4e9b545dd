"""A small name -> object registry shared by algorithms, mechanisms and strategies.

Configs refer to components by name (never ``eval``); an unknown name raises
:class:`~auctionlab.errors.UnknownNameError` listing what is available.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from auctionlab.errors import ConfigError, UnknownNameError

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """A dict whose missing keys raise a clear error; ``register`` adds entries safely."""

    def __init__(
        self, kind: str, entries: dict[str, T] | None = None, loader: Callable[[], object] | None = None
    ) -> None:
        super().__init__(entries or {})
        self.kind = kind
        self._loader = loader  # registers the built-in entries, run once before the first read

    def _load(self) -> None:
        if self._loader is not None:
            loader, self._loader = self._loader, None
            loader()

    def __getitem__(self, name: str) -> T:
        self._load()
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        self._load()
        return super().__contains__(name)

    def __iter__(self):
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def get(self, name, default=None):  # type: ignore[override]
        self._load()
        return super().get(name, default)

    def keys(self):  # type: ignore[override]
        self._load()
        return super().keys()

    def values(self):  # type: ignore[override]
        self._load()
        return super().values()

    def items(self):  # type: ignore[override]
        self._load()
        return super().items()

    def __missing__(self, name: str) -> T:
        raise UnknownNameError(f"unknown {self.kind} {name!r}; available: {', '.join(sorted(self)) or '(none)'}")

    def register(self, name: str, obj: T | None = None, *, overwrite: bool = False):
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted."""

        def add(o: T) -> T:
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{self.kind} name must be a non-empty string, got {name!r}")
            if not callable(o):
                raise ConfigError(f"{self.kind} {name!r} must be callable, got {type(o).__name__}")
            if dict.__contains__(self, name) and not overwrite:
                raise ConfigError(f"{self.kind} {name!r} is already registered (pass overwrite=True)")
            self[name] = o
            return o

        return add if obj is None else add(obj)

    def resolve(self, spec: str | Callable) -> T:
        """A registered entry by name, or a user callable passed through unchanged."""
        if callable(spec) and not isinstance(spec, str):
            return spec  # type: ignore[return-value]
        return self[spec]
