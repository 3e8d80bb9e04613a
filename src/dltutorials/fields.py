"""Typed settings: each setting's type and bounds, declared once, in the signature or dataclass that uses it.

A setting is declared by its annotation, with bounds attached by ``typing.Annotated``::

    class RBM(PretrainedLayer):
        def __init__(self, n_visible: PositiveInt, n_hidden: PositiveInt, learning_rate: PositiveFloat,
                     cd_k: PositiveInt = 1, momentum: Probability = 0.0, gradient: Choice = "explicit"):
            check_arguments(RBM, locals())

``check_section("model.pretrain.layer", values, RBM)`` checks a config section against the same declaration
(a class's constructor, a function or a dataclass) and names every key in full::

    model.pretrain.layer.cd_k must be > 0, got 0

so a new setting is added in one place: its parameter or field, whose annotation both the config's
validation (``dltutorials.config``) and the class itself check. Nothing is converted: an integer given
for a float stays an integer (Hydra's structured configs would make it 1.0, and change the hashes of
the results' settings). Types: ``int`` (not a bool), ``float`` (an int or a float, finite), ``bool``,
``str``; ``X | None`` also takes null; other annotations (lists, paths) are not checked.

A ground module: it imports nothing of the package (the models import it, tests/test_layering.py).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any


class ConfigError(ValueError):
    """A setting that cannot work; the message names its full key."""


@dataclass(frozen=True)
class Bounds:
    """Bounds of a number: ``gt``/``ge`` below, ``lt``/``le`` above (None: unbounded). ``says``, if set, is
    how a refusal describes a valid value ("a positive integer"), for both a wrong type and a wrong value;
    otherwise the type and the bounds are said separately ("must be an integer", "must be > 0")."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    says: str | None = None

    def hold(self, value: float) -> bool:
        return ((self.gt is None or value > self.gt) and (self.ge is None or value >= self.ge)
                and (self.lt is None or value < self.lt) and (self.le is None or value <= self.le))

    def __str__(self) -> str:
        low = f"({self.gt}" if self.gt is not None else f"[{self.ge}" if self.ge is not None else None
        high = f"{self.lt})" if self.lt is not None else f"{self.le}]" if self.le is not None else None
        if low and high:
            return f"in {low}, {high}"
        if low:
            return f"{'>' if self.gt is not None else '>='} {low[1:]}"
        return f"{'<' if self.lt is not None else '<='} {high[:-1]}"


@dataclass(frozen=True)
class OneOf:
    """The values a setting may take, e.g. ``Annotated[str, OneOf(("explicit", "autograd"))]``."""

    choices: tuple

    def __str__(self) -> str:
        return f"one of {list(self.choices)}"


PositiveInt = Annotated[int, Bounds(gt=0)]
NonNegativeInt = Annotated[int, Bounds(ge=0)]
PositiveFloat = Annotated[float, Bounds(gt=0)]
NonNegativeFloat = Annotated[float, Bounds(ge=0)]
Probability = Annotated[float, Bounds(ge=0, lt=1)]  # a momentum, a corruption level: [0, 1)
Fraction = Annotated[float, Bounds(gt=0, le=1)]  # a factor that may keep all: (0, 1]
Count = Annotated[int, Bounds(gt=0, says="a positive integer")]  # the same as PositiveInt, said in words
Gradient = Annotated[str, OneOf(("explicit", "autograd"))]  # how a model's update is computed

_TYPE_SAYS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _has_type(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_value(key: str, value: Any, annotation: Any) -> None:
    """Check ``value`` against a type annotation (see the module's docstring); ConfigError naming ``key``."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        if value is None and optional:
            return
        if len(members) != 1:  # a union of several types: not checked
            return
        annotation = members[0]
    markers: tuple = ()
    if typing.get_origin(annotation) is Annotated:
        annotation, markers = annotation.__origin__, annotation.__metadata__
    if annotation not in _TYPE_SAYS:
        return
    bounds = next((marker for marker in markers if isinstance(marker, Bounds)), None)
    if bounds is not None and bounds.says is not None:
        if not (_has_type(value, annotation) and bounds.hold(value)):
            raise ConfigError(f"{key} must be {bounds.says}{' or null' if optional else ''}, got {value!r}")
        return
    if not _has_type(value, annotation):
        raise ConfigError(f"{key} must be {_TYPE_SAYS[annotation]}, got {value!r}")
    if annotation is float and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    for marker in markers:
        if isinstance(marker, Bounds) and not marker.hold(value):
            raise ConfigError(f"{key} must be {marker}, got {value!r}")
        if isinstance(marker, OneOf) and value not in marker.choices:
            raise ConfigError(f"{key} must be {marker}, got {value!r}")


@functools.cache
def fields_of(declaration: type | Callable) -> dict[str, inspect.Parameter]:
    """The settings a declaration takes: a dataclass's fields, a class's constructor arguments or a
    function's arguments, as ``inspect.Parameter`` (annotations resolved, ``Annotated`` kept)."""
    if dataclasses.is_dataclass(declaration):
        hints = typing.get_type_hints(declaration, include_extras=True)
        names = [field.name for field in dataclasses.fields(declaration) if field.init]
    else:
        function = declaration.__init__ if isinstance(declaration, type) else declaration
        hints = typing.get_type_hints(function, include_extras=True)
        names = [name for name, parameter in inspect.signature(declaration).parameters.items()
                 if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)]
    defaults = {name: parameter.default for name, parameter in inspect.signature(declaration).parameters.items()}
    return {name: inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=defaults.get(name),
                                    annotation=hints.get(name, inspect.Parameter.empty)) for name in names}


def check_section(key: str, section: dict, declaration: type | Callable, *, closed: bool = True,
                  required: bool = False) -> None:
    """Check a config section (a plain dict) against a declaration (``fields_of``), naming each key in full
    as ``<key>.<name>``. ``closed``: a key the declaration lacks is refused; ``required``: so is a missing
    one without a default (a dataclass's field, which only the config gives)."""
    fields = fields_of(declaration)
    name_of = getattr(declaration, "__qualname__", str(declaration)).removesuffix(".__init__")
    full = (lambda name: f"{key}.{name}") if key else (lambda name: name)  # key "": the root config's keys
    for name, value in section.items():
        if name == "_target_":
            continue
        if name not in fields:
            if closed:
                raise ConfigError(f"{full(name)} is not a parameter of {name_of} (expected one of {sorted(fields)})")
            continue
        check_value(full(name), value, fields[name].annotation)
    if required:
        for name, field in fields.items():
            if name not in section and field.default is inspect.Parameter.empty:
                raise ConfigError(f"{full(name)} is missing ({name_of} needs it)")


def check_arguments(declaration: type | Callable, arguments: dict) -> None:
    """What a constructor calls first, ``check_arguments(RBM, locals())``: each of its declared arguments
    against its annotation; a ConfigError (a ValueError) naming the argument."""
    for name, field in fields_of(declaration).items():
        if name in arguments:
            check_value(name, arguments[name], field.annotation)
