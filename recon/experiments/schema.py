"""A small declarative schema for experiment configs: fields, sections and one-line errors.

A schema is a :class:`Section` of named :class:`Field` and nested ``Section``
objects. :func:`validate` checks a raw mapping (as YAML loaded it) against it
and returns a new, fully resolved plain dict: every key present, defaults filled
in, ints turned into floats where the field is a float. Anything wrong raises a
:class:`ConfigError` whose message is one line naming the file and the dotted
key, ``"ct-tv.yaml: solver.max_iter: expected an integer >= 0, got -5"``, so a
user can find the line to fix without reading a traceback.

No schema library is used: the configs need only scalars, pairs and one union,
and the error text is the whole point.

>>> schema = Section({"solver": Section({"max_iter": Field(int, 200, minimum=0, doc="iterations")})})
>>> validate({"solver": {}}, schema, "my.yaml")
{'solver': {'max_iter': 200}}
>>> validate({"solver": {"max_iter": -5}}, schema, "my.yaml")
Traceback (most recent call last):
    ...
recon.experiments.schema.ConfigError: my.yaml: solver.max_iter: expected an integer >= 0, got -5
"""

from __future__ import annotations

import copy
import math
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Iterator, Union

_BASE_KINDS = ("bool", "int", "float", "str", "int-pair", "float-pair")


class ConfigError(ValueError):
    """A config that cannot be used; the message is one line naming the source and the key.

    ``key`` is the dotted key path the error is about (``""`` for the whole
    file, ``None`` when it is about no key), so a caller can say which
    command-line override caused it.

    >>> ConfigError("my.yaml: solver.tol: expected a number, got 'x'", key="solver.tol").key
    'solver.tol'
    """

    def __init__(self, message: str, *, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Field:
    """One setting: its kind, its default and the values it accepts.

    ``kind`` is ``bool``, ``int``, ``float`` (ints are accepted and converted),
    ``str``, ``"int-pair"`` / ``"float-pair"`` (a list of two), or a union of
    those such as ``"str-or-float"``. ``choices`` restricts strings (in a union,
    only the string part); ``minimum`` / ``maximum`` bound numbers (and each
    element of a pair), ``exclusive_minimum`` makes the lower bound strict
    (``eta > 0``). ``nullable`` lets ``null`` through. Non-finite numbers
    (``.nan``, ``.inf``) are never accepted: no setting here means them.

    >>> Field(float, 0.01, minimum=0, exclusive_minimum=True).describe()
    'a number > 0'
    >>> Field("str-or-float", "auto", choices=["auto"]).check(3)
    3.0
    """

    kind: Any
    default: Any
    _: KW_ONLY
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    doc: str = ""
    exclusive_minimum: bool = False
    members: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        kind = self.kind.__name__ if isinstance(self.kind, type) else str(self.kind)
        members = tuple(kind.split("-or-"))
        unknown = [m for m in members if m not in _BASE_KINDS]
        if unknown:
            raise TypeError(f"unknown field kind {self.kind!r} (known: {', '.join(_BASE_KINDS)} and unions a-or-b)")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "members", members)
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        # A default that fails its own field is a bug in the schema, not in a user's file: fail at import.
        if self.check(self.default) is _INVALID:
            raise TypeError(f"default {self.default!r} is not {self.describe()}")

    def describe(self, with_range: bool = True) -> str:
        """What the field accepts, in words, as it appears after ``expected``.

        ``with_range=False`` leaves the numeric bounds out: for a value of the
        wrong type (``'abc'`` for a number) the bounds are noise.
        """
        parts = [self._describe_member(m, with_range) for m in self.members]
        if self.nullable:
            parts.append("null")
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]

    def check(self, value: Any, with_range: bool = True) -> Any:
        """The value converted to its resolved form, or the sentinel ``_INVALID``.

        ``with_range=False`` checks the type (and choices) only, to tell a wrong
        type from an out-of-range number.
        """
        if value is None:
            return None if self.nullable else _INVALID
        for member in self.members:
            converted = self._check_member(member, value, with_range)
            if converted is not _INVALID:
                return converted
        return _INVALID

    def _range_words(self) -> str:
        low = None if self.minimum is None else _number_text(self.minimum)
        high = None if self.maximum is None else _number_text(self.maximum)
        if low is not None and high is not None:
            return f" in {'(' if self.exclusive_minimum else '['}{low}, {high}]"
        if low is not None:
            return f" {'>' if self.exclusive_minimum else '>='} {low}"
        if high is not None:
            return f" <= {high}"
        return ""

    def _describe_member(self, member: str, with_range: bool) -> str:
        if member == "bool":
            return "true or false"
        if member == "str":
            if not self.choices:
                return "a string"
            quoted = [repr(c) for c in self.choices]
            return quoted[0] if len(quoted) == 1 else "one of " + ", ".join(quoted[:-1]) + " or " + quoted[-1]
        noun = {"int": "an integer", "float": "a number",
                "int-pair": "a list of 2 integers", "float-pair": "a list of 2 numbers"}[member]
        return noun + (self._range_words() if with_range else "")

    def _in_range(self, number) -> bool:
        if self.minimum is not None and (number <= self.minimum if self.exclusive_minimum else number < self.minimum):
            return False
        return self.maximum is None or number <= self.maximum

    def _check_number(self, integer: bool, value: Any, with_range: bool) -> Any:
        # YAML reads `yes` as True, and Python's True == 1: a bool is never a number here.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _INVALID
        if integer and not isinstance(value, int):
            return _INVALID
        if not integer:
            try:
                value = float(value)
            except OverflowError:
                return _INVALID
            if not math.isfinite(value):
                return _INVALID
        return value if not with_range or self._in_range(value) else _INVALID

    def _check_member(self, member: str, value: Any, with_range: bool) -> Any:
        if member == "bool":
            return value if isinstance(value, bool) else _INVALID
        if member == "str":
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                return _INVALID
            return value
        if member in ("int", "float"):
            return self._check_number(member == "int", value, with_range)
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            return _INVALID
        pair = [self._check_number(member == "int-pair", v, with_range) for v in value]
        return _INVALID if any(p is _INVALID for p in pair) else pair


class _Invalid:
    """The marker :meth:`Field.check` returns for a value it rejects (``None`` is a valid value)."""

    def __repr__(self):
        return "<invalid>"


_INVALID = _Invalid()


class Section:
    """A named group of fields and subsections, in the order they are documented and written.

    >>> Section({"tol": Field(float, 0.0)}, doc="stopping").names()
    ['tol']
    """

    def __init__(self, entries: dict[str, Union[Field, "Section"]], *, doc: str = ""):
        for name, entry in entries.items():
            if not isinstance(entry, (Field, Section)):
                raise TypeError(f"schema entry {name!r} is {type(entry).__name__}, not a Field or Section")
        self.entries = dict(entries)
        self.doc = doc

    def names(self) -> list[str]:
        """The keys this section knows, in schema order."""
        return list(self.entries)

    def __repr__(self):
        return f"Section({', '.join(self.entries)})"


def describe_value(value: Any, limit: int = 60) -> str:
    """A value as the error message shows it after ``got``: YAML words for null and bools.

    >>> describe_value("abc"), describe_value(None), describe_value(True), describe_value([0, 360])
    ("'abc'", 'null', 'true', '[0, 360]')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        text = "a mapping {" + ", ".join(str(k) for k in value) + "}"
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(describe_value(v, limit) for v in value) + "]"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate(raw: Any, schema: Section, source: str) -> dict:
    """``raw`` checked against ``schema``: a new resolved dict, or a one-line :class:`ConfigError`.

    Unknown keys are errors at any depth (a typo must not silently fall back to
    a default). A value of the wrong type is told the type; a number out of
    range is told the range. An empty section (``output:`` with every line commented out)
    reads as all defaults.

    >>> schema = Section({"prior": Section({"strength": Field(float, 0.0, minimum=0)})})
    >>> validate({"prior": {"strength": 1}}, schema, "my.yaml")
    {'prior': {'strength': 1.0}}
    >>> validate({"prior": {"strength": "abc"}}, schema, "my.yaml")
    Traceback (most recent call last):
        ...
    recon.experiments.schema.ConfigError: my.yaml: prior.strength: expected a number, got 'abc'
    """
    return _validate_section(raw, schema, source, "")


def _validate_section(raw: Any, section: Section, source: str, path: str) -> dict:
    if raw is None and path:
        raw = {}
    if not isinstance(raw, dict):
        what = "a mapping of settings" if path else "a mapping of sections"
        raise ConfigError(f"{_where(source, path)}expected {what}, got {describe_value(raw)}", key=path)
    for key in raw:
        if key not in section.entries:
            dotted = _join(path, str(key))
            raise ConfigError(f"{source}: {dotted}: unknown key (known: {', '.join(section.names())})",
                              key=dotted)
    resolved = {}
    for name, entry in section.entries.items():
        dotted = _join(path, name)
        if isinstance(entry, Section):
            resolved[name] = _validate_section(raw.get(name), entry, source, dotted)
        elif name not in raw:
            resolved[name] = copy.deepcopy(entry.check(entry.default))
        else:
            value = entry.check(raw[name])
            if value is _INVALID:
                out_of_range = entry.check(raw[name], with_range=False) is not _INVALID
                raise ConfigError(f"{source}: {dotted}: expected {entry.describe(with_range=out_of_range)}, "
                                  f"got {describe_value(raw[name])}", key=dotted)
            resolved[name] = value
    return resolved


def iter_fields(schema: Section, prefix: str = "") -> Iterator[tuple[str, Field]]:
    """Every field as ``(dotted key, Field)``, depth first in schema order: the config reference.

    >>> schema = Section({"solver": Section({"tol": Field(float, 0.0, doc="relative change")})})
    >>> [(key, f.describe(), f.default, f.doc) for key, f in iter_fields(schema)]
    [('solver.tol', 'a number', 0.0, 'relative change')]
    """
    for name, entry in schema.entries.items():
        dotted = _join(prefix, name)
        if isinstance(entry, Section):
            yield from iter_fields(entry, dotted)
        else:
            yield dotted, entry


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _where(source: str, path: str) -> str:
    return f"{source}: {path}: " if path else f"{source}: "


def _number_text(number: float) -> str:
    return f"{number:g}"
