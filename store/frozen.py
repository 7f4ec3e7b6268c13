"""`@record`: a frozen, slotted dataclass whose constructor is cheap.

A frozen dataclass sets each field in `__init__` through `object.__setattr__` (its own
`__setattr__` refuses), about 0.2 µs a field; replay builds several records and events
per event of the log, and those constructors were a sixth of its time (py-spy over
`bench/verify.py`). Here `__init__` is replaced by straight-line code that stores each
field through its slot's descriptor, which is what `object.__setattr__` ends up doing,
at half the cost. The class stays what `dataclass(frozen=True, slots=True)` made it:
assignment still raises `FrozenInstanceError`, equality, hashing, `repr`,
`dataclasses.replace` and `fields` are the dataclass's own.

`setter(cls)` gives the same straight-line store for a copy with some fields changed
(`copy_with`), which the fold does for a record or two per event.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
_MISSING = dataclasses.MISSING


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(cls: None = None, /, **options: Any) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True)
def record(cls: type[T] | None = None, /, **options: Any) -> type[T] | Callable[[type[T]], type[T]]:
    """`@dataclass(frozen=True, slots=True, **options)` with the cheap constructor.

    `dataclass_transform` tells a type checker that the fields are the class's annotations."""

    def wrap(c: type[T]) -> type[T]:
        made = dataclasses.dataclass(frozen=True, slots=True, **options)(c)
        made.__init__ = _init_for(made)  # type: ignore[method-assign]  # the faster constructor, same signature
        return made

    return wrap if cls is None else wrap(cls)


def _init_for(cls: type) -> Callable[..., None]:
    scope: dict[str, Any] = {"_MISSING": _MISSING}
    params, body = [], []
    for f in dataclasses.fields(cls):
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: init=False is not supported by @record")
        scope[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is not _MISSING:
            scope[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
            body.append(f"    _set_{f.name}(self, {f.name})")
        elif f.default_factory is not _MISSING:
            scope[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    _set_{f.name}(self, _f_{f.name}() if {f.name} is _MISSING else {f.name})")
        else:
            if params and "=" in params[-1]:
                raise TypeError(f"{cls.__name__}.{f.name}: a field without a default follows one with")
            params.append(f.name)
            body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    src = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(src, scope)  # noqa: S102 (code made here from the class's own field names)
    fn = scope["__init__"]
    fn.__qualname__ = f"{cls.__qualname__}.__init__"
    return fn  # type: ignore[no-any-return]


def copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    """`copy(obj, changes)`: a new `cls` with `changes` over `obj`'s fields, built without
    `dataclasses.replace`'s per-call introspection and without calling `__init__`."""
    names = [f.name for f in dataclasses.fields(cls)]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def copy(o, c):", "    n = _new(_cls)"]
    for name in names:
        scope[f"_set_{name}"] = cls.__dict__[name].__set__
        lines.append(f"    _set_{name}(n, c[{name!r}] if {name!r} in c else o.{name})")
    lines.append("    return n")
    exec("\n".join(lines), scope)  # noqa: S102 (code made here from the class's own field names)
    return scope["copy"]  # type: ignore[no-any-return]
