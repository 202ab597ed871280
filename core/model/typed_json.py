"""Read JSON into frozen dataclasses, checking every entry and naming the one that does not fit.

Why a module of its own
-----------------------
The model card (:mod:`core.model.card`) is JSON written by training and read
by every page. :func:`read_typed` builds the dataclasses from their type hints
alone: each entry must be present (unless the field has a default), known,
and of its declared type (``int``, ``float``, ``str``, ``bool``, ``X | None``,
``tuple[X, ...]``, fixed tuples, ``dict[str, X]``, ``dict[int, X]`` with
year-like keys, generic dataclasses, :data:`Share` in [0, 1]); a dataclass
may add its own checks in a ``_problems()`` method yielding (field, problem).
What does not fit raises :class:`EntryError` with the entry's path
(``metrics.test.severe.auc``, ``start_year.candidates[2]``). A field whose
JSON key is not its name says so with ``field(metadata={"key": "from"})``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any


@dataclass(frozen=True)
class _Unit:
    """Marks a float that must lie in [0, 1] (a probability, a share, an AUC, a Brier score)."""


#: A probability, share or bounded metric: refused outside [0, 1].
Share = Annotated[float, _Unit()]


class EntryError(Exception):
    """One entry that does not fit: its path and what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path, self.problem = path, problem


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def read_typed(hint: Any, value: Any, path: str = "") -> Any:
    """``value`` (as ``json.loads`` gives it) read as type ``hint``.

    Raises
    ------
    EntryError
        Naming the first entry under ``path`` that does not fit.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Band:
    ...     low: Share = dataclasses.field(metadata={"key": "from"})
    ...     years: tuple[int, int]
    >>> read_typed(Band, {"from": 0.2, "years": [2019, 2020]})
    Band(low=0.2, years=(2019, 2020))
    >>> read_typed(dict[str, Band], {"a": {"from": 1.5, "years": [2019, 2020]}})
    Traceback (most recent call last):
    ...
    core.model.typed_json.EntryError: ('a.from', 'is 1.5, outside [0, 1]')
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        number = read_typed(args[0], value, path)
        if any(isinstance(mark, _Unit) for mark in args[1:]) and not 0.0 <= number <= 1.0:
            raise EntryError(path, f"is {value}, outside [0, 1]")
        return number
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return read_typed(next(a for a in args if a is not type(None)), value, path)
    if origin is tuple:
        return _read_tuple(args, value, path)
    if origin is dict:
        return _read_dict(args, value, path)
    if dataclasses.is_dataclass(origin or hint):
        return _read_dataclass(hint, value, path)
    return _read_scalar(hint, value, path)


def _read_scalar(hint: Any, value: Any, path: str) -> Any:
    if hint is Any:
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise EntryError(path, f"is {value}, not a finite number")
        return float(value)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    names = {float: "a number", int: "an integer", str: "a text", bool: "true or false"}
    raise EntryError(path, f"should be {names.get(hint, hint)}, not {type(value).__name__} ({value!r:.40})")


def _read_tuple(args: tuple[Any, ...], value: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise EntryError(path, f"should be a list, not {type(value).__name__}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(read_typed(args[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if len(value) != len(args):
        raise EntryError(path, f"should hold {len(args)} values, not {len(value)}")
    return tuple(read_typed(arg, item, f"{path}[{i}]") for i, (arg, item) in enumerate(zip(args, value, strict=True)))


def _read_dict(args: tuple[Any, ...], value: Any, path: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise EntryError(path, f"should be an object, not {type(value).__name__}")
    key_type, value_type = args
    read = {}
    for key, item in value.items():
        if key_type is int and not str(key).isdigit():
            raise EntryError(_join(path, key), "is not a year")
        read[int(key) if key_type is int else key] = read_typed(value_type, item, _join(path, key))
    return read


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, str, Any, bool], ...]:
    """(attribute, JSON key, type, required) of each field of a card dataclass."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple((f.name, f.metadata.get("key", f.name), hints[f.name],
                  f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                 for f in dataclasses.fields(cls))


def _read_dataclass(hint: Any, value: Any, path: str) -> Any:
    cls = typing.get_origin(hint) or hint
    bound = dict(zip(getattr(cls, "__parameters__", ()), typing.get_args(hint), strict=True))
    if not isinstance(value, dict):
        raise EntryError(path, f"should be an object, not {type(value).__name__}")
    fields = _fields(cls)
    unknown = sorted(set(value) - {key for _name, key, _hint, _required in fields})
    if unknown:
        raise EntryError(_join(path, unknown[0]), "is not an expected entry")
    read = {}
    for name, key, field_hint, required in fields:
        if key not in value:
            if required:
                raise EntryError(_join(path, key), "is missing")
            continue
        read[name] = read_typed(bound.get(field_hint, field_hint), value[key], _join(path, key))
    instance = cls(**read)
    for entry, problem in getattr(instance, "_problems", lambda: ())():
        raise EntryError(_join(path, entry), problem)
    return instance
