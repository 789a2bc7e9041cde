"""Dataclasses whose methods are written on first use: ``@lazy_dataclass()`` is ``@dataclass``.

``dataclasses.dataclass`` writes and compiles the source of ``__init__``, ``__repr__``,
``__eq__`` (and ``__hash__``, ``__setattr__``, ``__delattr__`` when frozen) the moment a class
is defined. For the ~40 lazy dataclasses of the engine that is about a third of the time Python
takes to import click, Jinja2 and transitions, paid by every command, although a ``fire`` or a
``done`` makes instances of a dozen of them (the playbook model arrives unpickled, without
calling ``__init__``). ``lazy_dataclass`` defers ``dataclass`` to the first use of one of
those methods, then hands the class to ``dataclasses.dataclass`` unchanged: same fields, same
generated methods, same errors. Type checkers see a dataclass (``typing.dataclass_transform``).

A class not prepared yet has no ``__dataclass_fields__``: use :func:`replace` and
:func:`prepared` rather than ``dataclasses.replace`` / ``dataclasses.fields`` on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")

_PENDING: dict[type, dict[str, Any]] = {}  # class -> dataclass options, until prepared
_STUBS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def lazy_dataclass(*, frozen: bool = False, order: bool = False) -> Callable[[type[_T]], type[_T]]:
    """``@dataclass(frozen=..., order=...)``, its methods generated on first use."""

    def wrap(cls: type[_T]) -> type[_T]:
        for name in _STUBS:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} defines {name}; use @dataclass")
        _PENDING[cls] = {"frozen": frozen, "order": order}
        for name in _STUBS:
            if name in ("__setattr__", "__delattr__") and not frozen:
                continue
            setattr(cls, name, _stub(name))
        if order:
            for name in ("__lt__", "__le__", "__gt__", "__ge__"):
                setattr(cls, name, _stub(name))
        return cls

    return wrap


def prepared(cls: type[_T]) -> type[_T]:
    """``cls`` (and the lazy dataclasses it derives from) turned into a dataclass now."""
    for klass in reversed(cls.__mro__):
        options = _PENDING.pop(klass, None)
        if options is not None:
            for name in (*_STUBS, "__lt__", "__le__", "__gt__", "__ge__"):
                if getattr(klass.__dict__.get(name), "_lazy_stub", False):
                    delattr(klass, name)
            dataclasses.dataclass(klass, **options)
    return cls


def replace(obj: _T, /, **changes: Any) -> _T:
    """``dataclasses.replace`` for a lazy dataclass (prepared first)."""
    prepared(type(obj))
    result: _T = dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    return result


def _stub(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        cls = prepared(type(self))
        real = getattr(cls, name)
        if real is None:  # __hash__ of a mutable dataclass
            raise TypeError(f"unhashable type: '{cls.__name__}'")
        return real(self, *args, **kwargs)

    method._lazy_stub = True  # type: ignore[attr-defined]
    method.__name__ = name
    return method
