"""`@record`: a frozen, slotted dataclass that is cheap to build and cheap to define.

Cheap to build: a frozen dataclass sets each field in `__init__` through
`object.__setattr__` (its own `__setattr__` refuses), about 0.2 µs a field; replay builds
several records and events per event of the log, and those constructors were a sixth of its
time (py-spy over `bench/verify.py`). Here `__init__` is straight-line code that stores each
field through its slot's descriptor, which is what `object.__setattr__` ends up doing, at half
the cost.

Cheap to define: `dataclass(frozen=True)` writes the source of six or seven methods per class
and compiles each (`exec`), ~0.1-0.2 ms a method; kaigi defines ~50 records and events, so
every command paid ~40 ms of its ~200 ms of CPU compiling the same methods again. Here the
dataclass machinery is asked only for what costs no compiling (the fields, the slots,
`__match_args__`), and the methods a frozen dataclass has (`__init__`, `__repr__`, `__eq__`,
`__hash__`, the refusing `__setattr__` and `__delattr__`, and the pickling pair of a slotted
frozen class) are written here as one source per class, compiled once and kept beside the
defining module as bytecode is (`__pycache__/<module>.records.<tag>.marshal`, a dict from
source text to code object: a changed class is another source, so a stale entry is never
run; written only where Python writes bytecode, atomically; a copy that cannot be read is
compiled again). It is Python's own bytecode, trusted as the .pyc files beside it are.

The class behaves as `dataclass(frozen=True, slots=True)` made it: assignment and deletion
raise `FrozenInstanceError`, equality, hashing and `repr` follow the fields' `compare`,
`hash` and `repr` options, `dataclasses.fields`, `replace` and `asdict` work, instances
pickle. Its `__dataclass_params__` says what the dataclass machinery itself generated
(nothing but the fields), not frozen: nothing here reads it, and a dataclass inheriting
from a record must be a record too (`tests/unit/test_frozen.py`).

`copier(cls)` gives the same straight-line store for a copy with some fields changed, which
the fold does for a record or two per event.
"""

import atexit
import dataclasses
import marshal
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
_MISSING = dataclasses.MISSING


# ---------------------------------------------------------------- compiled code, kept
class _Kept:
    """The compiled methods of one module's records: loaded once, written back when a class
    of that module was compiled afresh (at exit, or by `keep()`)."""

    __slots__ = ("codes", "dirty", "path", "used")

    def __init__(self, path: Path | None) -> None:
        self.path, self.dirty = path, False
        self.codes: dict[str, types.CodeType] = {}
        self.used: dict[str, types.CodeType] = {}
        if path is None:
            return
        try:
            data = marshal.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return
        if isinstance(data, dict):
            self.codes = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, types.CodeType)}

    def code(self, src: str, filename: str) -> types.CodeType:
        code = self.codes.get(src)
        if code is None:
            code = self.codes[src] = compile(src, filename, "exec")
            self.dirty = True
        self.used[src] = code
        return code

    def write(self) -> None:
        """What the file held and what this process compiled; once the stale entries (classes
        that changed since) outnumber the live ones, only what this process used."""
        if not self.dirty or self.path is None or sys.dont_write_bytecode:
            return
        self.dirty = False
        try:
            self.path.parent.mkdir(exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            # what this process used, and what the file held unless that has grown stale-heavy
            keep = self.codes if len(self.codes) <= 2 * len(self.used) + 64 else self.used
            tmp.write_bytes(marshal.dumps(keep))
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            pass  # a read-only install: compiled again next time


_KEPT: dict[str, _Kept] = {}


def _kept_for(module: str) -> _Kept:
    kept = _KEPT.get(module)
    if kept is None:
        if not _KEPT:
            atexit.register(keep)
        file = getattr(sys.modules.get(module), "__file__", None)
        path = None
        if file and sys.implementation.cache_tag:
            src = Path(file)
            path = src.parent / "__pycache__" / f"{src.stem}.records.{sys.implementation.cache_tag}.marshal"
        kept = _KEPT[module] = _Kept(path)
    return kept


def keep() -> None:
    """Write what was compiled afresh (also at exit; the test run calls it after warming)."""
    for kept in _KEPT.values():
        kept.write()


def made(src: str, scope: dict[str, Any], module: str, name: str) -> Any:
    """Run `src` (it defines `name`) in `scope` from kept bytecode; returns what it defined.
    Code made from a class's own field names, never from data."""
    code = _kept_for(module).code(src, f"<record {module}>")
    exec(code, scope)  # noqa: S102 (kaigi's own generated source, see the module's docstring)
    return scope[name]


# ---------------------------------------------------------------- the decorator
@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(cls: None = None, /, **options: Any) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True)
def record(cls: type[T] | None = None, /, **options: Any) -> type[T] | Callable[[type[T]], type[T]]:
    """`@dataclass(frozen=True, slots=True, **options)`, its methods compiled once (see above).
    `options` may turn off `repr`, `eq` or `match_args`.

    `dataclass_transform` tells a type checker that the fields are the class's annotations."""
    for key in options:
        if key not in ("repr", "eq", "match_args"):
            raise TypeError(f"@record does not take {key}=")

    def wrap(c: type[T]) -> type[T]:
        for base in c.__mro__[1:]:
            if dataclasses.is_dataclass(base) and not base.__dict__.get("__kaigi_record__"):
                raise TypeError(f"{c.__name__}: a record's dataclass bases must be records ({base.__name__})")
        out = dataclasses.dataclass(init=False, repr=False, eq=False, frozen=False, slots=True,
                                    match_args=options.get("match_args", True))(c)
        _methods(out, repr_=options.get("repr", True), eq=options.get("eq", True))
        return out

    return wrap if cls is None else wrap(cls)


def _methods(cls: type, *, repr_: bool, eq: bool) -> None:
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields)
    scope: dict[str, Any] = {"_MISSING": _MISSING, "_cls": cls, "_names": frozenset(names),
                             "_Frozen": dataclasses.FrozenInstanceError, "_object_set": object.__setattr__}
    params, body = [], []
    for f in fields:
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: init=False is not supported by @record")
        scope[f"_set_{f.name}"] = _slot(cls, f.name).__set__
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
    src = [f"def __init__(self, {', '.join(params)}):", *(body or ["    pass"])]
    shown = [f.name for f in fields if f.repr]
    if repr_:
        parts = ", ".join(f"{n}={{self.{n}!r}}" for n in shown)
        src += ["def __repr__(self):", f"    return f'{{self.__class__.__qualname__}}({parts})'"]
    compared = [f.name for f in fields if f.compare]
    hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
    if eq:
        mine = "".join(f"self.{n}," for n in compared)
        theirs = "".join(f"other.{n}," for n in compared)
        src += ["def __eq__(self, other):", "    if other.__class__ is self.__class__:",
                f"        return ({mine}) == ({theirs})", "    return NotImplemented",
                "def __hash__(self):", f"    return hash(({''.join(f'self.{n},' for n in hashed)}))"]
    src += ["def __setattr__(self, name, value):",
            "    if type(self) is _cls or name in _names:",
            "        raise _Frozen(f'cannot assign to field {name!r}')",
            "    super(_cls, self).__setattr__(name, value)",
            "def __delattr__(self, name):",
            "    if type(self) is _cls or name in _names:",
            "        raise _Frozen(f'cannot delete field {name!r}')",
            "    super(_cls, self).__delattr__(name)",
            "def __getstate__(self):",
            f"    return [{', '.join(f'self.{n}' for n in names)}]",
            "def __setstate__(self, state):",
            "    for name, value in zip(_names_in_order, state):",
            "        _object_set(self, name, value)",
            "def __record__():",
            "    return __init__, " + ("__repr__, " if repr_ else "None, ") + ("__eq__, __hash__, " if eq else "None, None, ")
            + "__setattr__, __delattr__, __getstate__, __setstate__"]
    scope["_names_in_order"] = names
    init, rep, eq_fn, hash_fn, setattr_, delattr_, getstate, setstate = made(
        "\n".join(src) + "\n", scope, cls.__module__, "__record__")()
    qual = cls.__qualname__
    for attr, fn in (("__init__", init), ("__repr__", rep), ("__eq__", eq_fn), ("__hash__", hash_fn),
                     ("__setattr__", setattr_), ("__delattr__", delattr_), ("__getstate__", getstate),
                     ("__setstate__", setstate)):
        if fn is not None:
            fn.__qualname__ = f"{qual}.{attr}"
            setattr(cls, attr, fn)
    cls.__kaigi_record__ = True  # type: ignore[attr-defined]  # a record may inherit only from records


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor of a field (a base record's, for a field it declares)."""
    return next(k.__dict__[name] for k in cls.__mro__ if name in k.__dict__)


def copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    """`copy(obj, changes)`: a new `cls` with `changes` over `obj`'s fields, built without
    `dataclasses.replace`'s per-call introspection and without calling `__init__`."""
    names = [f.name for f in dataclasses.fields(cls)]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def copy(o, c):", "    n = _new(_cls)"]
    for name in names:
        scope[f"_set_{name}"] = _slot(cls, name).__set__
        lines.append(f"    _set_{name}(n, c[{name!r}] if {name!r} in c else o.{name})")
    lines.append("    return n")
    return made("\n".join(lines) + "\n", scope, cls.__module__, "copy")  # type: ignore[no-any-return]
