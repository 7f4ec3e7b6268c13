"""`@record` (store/frozen.py): a frozen slotted dataclass whose methods are compiled once and
kept beside the module as bytecode is, so a command does not compile them again. What a
caller of a record notices must be what `dataclass(frozen=True, slots=True)` gives."""

import dataclasses
import os
import pickle
import subprocess
import sys
import textwrap
from dataclasses import field
from pathlib import Path

import pytest

from store.frozen import record


@record
class Sitting:
    meeting: int
    items: tuple[int, ...] = ()
    note: str = field(default="", compare=False, repr=False)
    order: list[int] = field(default_factory=list, hash=False)


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    meeting: int
    items: tuple[int, ...] = ()
    note: str = field(default="", compare=False, repr=False)
    order: list[int] = field(default_factory=list, hash=False)


def test_a_record_refuses_assignment_and_deletion_as_a_frozen_dataclass_does():
    s = Sitting(7, (1, 2))
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'meeting'"):
        s.meeting = 8  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'items'"):
        del s.items  # type: ignore[misc]
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError)):
        s.other = 1  # type: ignore[attr-defined]
    assert s.meeting == 7 and s.items == (1, 2)


def test_equality_hashing_and_repr_follow_the_fields_options_like_the_dataclass():
    a, b = Sitting(7, (1,), note="x"), Sitting(7, (1,), note="y")
    ra, rb = Reference(7, (1,), note="x"), Reference(7, (1,), note="y")
    assert (a == b) is (ra == rb) is True  # note: compare=False
    assert Sitting(7) != Sitting(8) and Sitting(7) != (7, ()) and Sitting(7, order=[1]) != Sitting(7, order=[2])
    assert repr(a) == repr(ra).replace("Reference", "Sitting")  # note: repr=False
    assert hash(a) == hash(b) == hash(Sitting(7, (1,), order=[3]))  # order (a list): hash=False leaves it out
    assert hash(ra) == hash(rb)
    with pytest.raises(TypeError, match="unhashable"):
        hash(Sitting(7, ([1],)))  # type: ignore[arg-type]  # a field it hashes holds a list
    a2 = Sitting(7, (1,), note="z", order=[])
    assert a2.order == [] and Sitting(7).order is not Sitting(7).order  # a fresh default each time


def test_fields_replace_asdict_pickle_and_match_args_work():
    s = Sitting(7, (1, 2), note="n")
    assert [f.name for f in dataclasses.fields(s)] == ["meeting", "items", "note", "order"]
    assert dataclasses.replace(s, meeting=9) == Sitting(9, (1, 2))
    assert dataclasses.asdict(s) == {"meeting": 7, "items": (1, 2), "note": "n", "order": []}
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back.note == "n"
    assert Sitting.__match_args__ == ("meeting", "items", "note", "order")
    match s:
        case Sitting(7, items):
            assert items == (1, 2)
        case _:
            pytest.fail("no match")


def test_post_init_runs_and_the_constructor_checks_its_arguments():
    @record
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    assert Checked(1).n == 1
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)
    with pytest.raises(TypeError):
        Checked()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Checked(1, 2)  # type: ignore[call-arg]


def test_a_record_inherits_only_from_records():
    @record
    class Base:
        a: int

    @record
    class Child(Base):
        b: int = 0

    assert Child(1, 2) == Child(1, 2) and Child(1, 2) != Base(1) and isinstance(Child(1), Base)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Child(1).b = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="must be records"):
        @record
        class Stray(Reference):
            c: int = 0


MODULE = """
from store.frozen import record, _KEPT

@record
class Seen:
    who: str
    {extra}

import sys
print(Seen("sato"), "compiled" if _KEPT[__name__].dirty else "kept", file=sys.stderr)
"""


def _run(folder: Path, extra: str = "", dont_write: bool = False) -> str:
    (folder / "defs.py").write_text(textwrap.dedent(MODULE.format(extra=extra)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if dont_write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(root)])
    out = subprocess.run([sys.executable, "-c", "import defs"], cwd=folder, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stderr.strip()


def test_the_methods_are_compiled_once_and_kept_beside_the_module(tmp_path: Path):
    kept = tmp_path / "__pycache__" / f"defs.records.{sys.implementation.cache_tag}.marshal"
    assert _run(tmp_path, dont_write=True) == "Seen(who='sato') compiled"
    assert not kept.exists()  # PYTHONDONTWRITEBYTECODE: nothing written, as for bytecode
    assert _run(tmp_path) == "Seen(who='sato') compiled"
    assert kept.exists()
    assert _run(tmp_path) == "Seen(who='sato') kept"
    # a changed class is another source: compiled afresh, never the stale copy
    assert _run(tmp_path, extra="lang: str = 'ja'") == "Seen(who='sato', lang='ja') compiled"
    assert _run(tmp_path, extra="lang: str = 'ja'") == "Seen(who='sato', lang='ja') kept"
    # a copy that cannot be read is compiled again, and written anew
    kept.write_bytes(b"\x00not marshal")
    assert _run(tmp_path, extra="lang: str = 'ja'") == "Seen(who='sato', lang='ja') compiled"
    assert _run(tmp_path, extra="lang: str = 'ja'") == "Seen(who='sato', lang='ja') kept"
