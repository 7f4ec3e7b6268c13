"""Rulebooks for the faces: the bundled and adopted versions, a file checked, two compared.

The rulebook package raises its own errors; here they become domain errors, so a face
asks the engine and never handles `workflows` exceptions itself.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.core.errors import BadInput, NotFound, RulebookProblems
from workflows import NoVersionInForce, Rulebook, RulebookInvalid, UnknownVersion, bundled_rulebooks, parse_rulebook
from workflows.compare import diff, render_diff
from workflows.versions import Rules

__all__ = ["Rules", "adopted", "at", "bundled", "check", "compare", "parse", "version"]


def problem_line(p: Any, lang: str = "en") -> str:
    """One problem of a rulebook file in `lang`: file, key, what is expected and what was found.
    A problem the checks can say in Japanese comes from the catalog; any other keeps its English."""
    from engine.i18n import t

    what = t(f"rbcheck.{p.code}", lang, **p.params) if p.code else p.expected
    return t("rbcheck.line", lang, file=p.source, key=p.key, what=what)


@contextmanager
def translated(lang: str = "en") -> Iterator[None]:
    try:
        yield
    except RulebookInvalid as err:
        raise RulebookProblems([problem_line(p, lang) for p in err.problems]) from None
    except UnknownVersion as err:
        raise NotFound("rulebook.unknown", version=err.version, known=", ".join(err.known) or "-") from None
    except NoVersionInForce as err:
        raise NotFound("rulebook.none_in_force", when=err.when, first=str(err.first or "-")) from None


def bundled() -> Rules:
    return Rules(bundled_rulebooks())


def adopted(kaigi: Any) -> Rules:
    """The versions the log adopted, else the bundled ones (no database yet)."""
    try:
        with kaigi.store.read() as tx:
            rules = kaigi.snapshot(tx).rules
        if rules.books:
            return rules  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 (no database yet: the bundled books still answer)
        pass
    return bundled()


def at(rules: Rules, when: dt.datetime) -> Rulebook:
    with translated():
        return rules.at(when)


def version(rules: Rules, key: str) -> Rulebook:
    with translated():
        return rules.version(key)


def parse(text: str, source: str) -> Rulebook:
    with translated():
        return parse_rulebook(text, source)


def check(path: str, text: str, lang: str = "en") -> Rulebook:
    """A rulebook file, every problem listed (in `lang`) if it has any."""
    with translated(lang):
        return parse_rulebook(text, path)


def compare(rules: Rules, a: str, b: str, lang: str) -> tuple[list[Any], str]:
    with translated():
        changes = diff(rules.version(a), rules.version(b))
    return changes, render_diff(changes, lang)


def read_file(path: str, limit: int = 5_000_000) -> str:
    """A small text file named by a person: a regular file, UTF-8, not huge."""
    import os
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise BadInput("file.not_regular", path=path)
        if st.st_size > limit:
            raise BadInput("file.too_big", path=path, limit=limit)
        data = Path(path).read_bytes()
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("file.not_utf8", path=path) from None
    except OSError as err:
        raise BadInput("file.unreadable", path=path, why=err.strerror or str(err)) from None
