"""The message catalog's parse is kept beside it like bytecode (engine.i18n._load): a command
reads the kept copy instead of parsing 137 KB of TOML, and never a stale or broken one."""

import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from engine import i18n

SOURCE = Path(i18n.__file__).parent / "messages.toml"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(SOURCE, tmp_path / "messages.toml")
    monkeypatch.setattr(i18n, "HERE", tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return tmp_path


def kept(here: Path) -> list[Path]:
    return sorted((here / "__pycache__").glob("messages.toml.*.marshal"))


def test_the_kept_parse_is_the_catalog_and_is_read_back_without_parsing(
        here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = i18n._load("messages.toml")
    assert first == tomllib.loads(SOURCE.read_text("utf-8"))
    assert len(kept(here)) == 1

    def no_parse(text: str) -> None:
        raise AssertionError("parsed again although a kept copy was there")

    monkeypatch.setattr(i18n.tomllib, "loads", no_parse)
    assert i18n._load("messages.toml") == first


def test_a_changed_source_is_parsed_again_and_the_old_copy_dropped(here: Path) -> None:
    i18n._load("messages.toml")
    [old] = kept(here)
    src = here / "messages.toml"
    src.write_text(src.read_text("utf-8") + '\n["kept.test"]\nja = "新しい言葉"\nen = "a new word"\n', "utf-8")
    data = i18n._load("messages.toml")
    assert data["kept.test"] == {"ja": "新しい言葉", "en": "a new word"}
    [new] = kept(here)
    assert new != old


def test_a_broken_copy_is_parsed_again(here: Path) -> None:
    i18n._load("messages.toml")
    [copy] = kept(here)
    copy.write_bytes(b"\x00not marshal")
    assert i18n._load("messages.toml")["act.nothing"]["en"]


def test_nothing_is_written_where_python_writes_no_bytecode(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert i18n._load("messages.toml")["act.nothing"]
    assert kept(here) == []
