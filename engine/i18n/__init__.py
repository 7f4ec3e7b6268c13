"""Words people read, in Japanese and English, from one message catalog.

A `Msg` is a message id with parameters; it is rendered late, in the reader's language,
so the core can raise a refusal without knowing who will read it. The catalog
(`messages.toml`) holds every id in both languages; a test checks that none is missing.
Parameters render themselves: a `Title` as the rulebook gives it, `A(title)` with an
English article, a `Person` by name, a `When` as 令和 with the weekday in Japanese.
Pure: the catalog is package data, read once.
"""

import datetime as dt
import marshal
import os
import sys
import tomllib
from collections.abc import Iterable, Mapping
from store.frozen import record
from functools import lru_cache
from pathlib import Path
from typing import Any

from workflows.timezone import JST

LANGS = ("ja", "en")
HERE = Path(__file__).parent
_WEEKDAYS_JA = "月火水木金土日"


def _load(name: str) -> dict[str, Any]:
    """A catalog, parsed. Every command renders words, and parsing the 137 KB message catalog
    is ~17 ms of a command's ~190 ms of CPU; so the parse is kept beside the source as a
    .pyc is (`__pycache__/NAME.SIZE.MTIME_NS.marshal`: a changed source is another name, so
    a stale copy is never read), read back in under a millisecond. Written only where Python
    would write bytecode (not under PYTHONDONTWRITEBYTECODE, not in a read-only install);
    a copy that cannot be read is parsed again."""
    src = HERE / name
    st = src.stat()
    kept = HERE / "__pycache__" / f"{name}.{st.st_size}.{st.st_mtime_ns}.marshal"
    try:
        data = marshal.loads(kept.read_bytes())
        if isinstance(data, dict):
            return data
    except (OSError, ValueError, EOFError, TypeError):
        pass
    data = tomllib.loads(src.read_text(encoding="utf-8"))
    if not sys.dont_write_bytecode:
        _keep(kept, data)
    return data


def _keep(path: Path, data: dict[str, Any]) -> None:
    """Write the parsed catalog atomically (another process may be reading it); drop the
    copies of earlier versions of the same source. Best effort: a failure only costs a parse."""
    try:
        blob = marshal.dumps(data)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, path)
        stem = path.name.split(".", 2)[:2]
        for old in path.parent.glob(f"{stem[0]}.{stem[1]}.*.marshal"):
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


@lru_cache(maxsize=1)
def catalog() -> Mapping[str, Mapping[str, str]]:
    """Message id -> {"ja": text, "en": text}."""
    return _load("messages.toml")


@lru_cache(maxsize=1)
def help_catalog() -> Mapping[str, Mapping[str, str]]:
    """The command-line help, apart: `--help` reads it alone, and a command never does."""
    return _load("help.toml")


def lang_of(lang: str | None) -> str:
    return lang if lang in LANGS else "en"


def t(key: str, lang: str = "en", /, **params: Any) -> str:
    """The message `key` in `lang`, with its parameters rendered in that language."""
    return Msg(key, **params).render(lang)


class Msg:
    """A message id and its parameters, rendered when someone reads it."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params

    def render(self, lang: str = "en") -> str:
        if lang not in LANGS:
            lang = "en"
        key, params = self.key, self.params
        entry = (help_catalog() if key.startswith(("help.", "opt.")) else catalog()).get(key)
        if entry is None:  # a missing id is a bug the catalog test catches; never lose the words
            return key + ("" if not params else " " + repr(params))
        text = entry.get(lang) or entry["en"]
        if not params:
            return text
        # (a reminder pass renders tens of thousands of these: plain strings skip the dispatch)
        values = {}
        for k, v in params.items():
            if type(v) is str:
                values[k] = trigger_word(v, lang) if k == "trigger" else v
            else:
                values[k] = render(v, lang)
        return text.format_map(values)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)


def _book_title(book: Any, key: str, lang: str) -> str | None:
    """A trigger's title as the rulebook `book` words it (`[triggers.KEY]`), if it does."""
    title = getattr(book, "trigger_titles", {}).get(key) if book is not None else None
    return (title.in_(lang_of(lang)) or None) if title is not None else None


def trigger_word(key: str, lang: str, book: Any = None) -> str:
    """A trigger as people read it: its Japanese word with the key they type (`付議(refer)`),
    the key itself in English; a trigger the catalog does not know stays its key. The word
    is the rulebook's (`book`, its `[triggers.KEY]`) where it gives one, else the catalog's."""
    if lang != "ja":
        return key
    word = _book_title(book, key, "ja")
    if word is None:
        entry = catalog().get(f"trigger.{key}")
        word = entry["ja"] if entry else None
    return f"{word}({key})" if word else key


def render(value: Any, lang: str) -> str:
    """One parameter in `lang`."""
    if isinstance(value, str):
        return value
    if isinstance(value, (Msg, When, Person, A, Plain)):
        return value.render(lang)
    if type(value) is int:
        return str(value)
    if hasattr(value, "render"):
        return str(value.render(lang))
    if hasattr(value, "ja") and hasattr(value, "en"):  # a rulebook Title
        return value.ja if lang == "ja" else f"{value.en} ({value.ja})"
    if isinstance(value, dt.datetime):
        return when(value, lang)
    if isinstance(value, (list, tuple)):
        return ("、" if lang == "ja" else ", ").join(render(v, lang) for v in value)
    return str(value)


def joined(parts: Iterable[str], lang: str, last: str = "or") -> str:
    """`A, B or C` / `A、B又はC` (`last="and"`: `A, B and C` / `A、B及びC`)."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    if lang == "ja":
        return "、".join(parts[:-1]) + ("又は" if last == "or" else "及び") + parts[-1]
    return ", ".join(parts[:-1]) + f" {last} " + parts[-1]


@record
class A:
    """A title with its English article: `a team-lead meeting` / `班長会議`."""

    title: Any

    def render(self, lang: str) -> str:
        if lang == "ja":
            return str(self.title.ja)
        en = str(self.title.en)
        return ("an " if en[:1].lower() in "aeiou" or en.startswith("HQ") else "a ") + en


@record
class Plain:
    """A title in one language only, without the Japanese beside the English."""

    title: Any

    def render(self, lang: str) -> str:
        return str(self.title.ja if lang == "ja" else self.title.en)


@record
class Any_:
    """Several titles joined: `A, B or C` / `A、B又はC`."""

    titles: tuple[Any, ...]
    last: str = "or"

    def render(self, lang: str) -> str:
        return joined([render(x, lang) for x in self.titles], lang, self.last)


@record
class Person:
    """A member as people read them: by name, with the login they type."""

    login: str
    name: str = ""
    name_en: str = ""
    with_login: bool = True

    def render(self, lang: str) -> str:
        name = (self.name if lang == "ja" else self.name_en or self.name) or self.login
        if not self.with_login or name == self.login:
            return name
        return f"{name}({self.login})" if lang == "ja" else f"{name} ({self.login})"


@record
class When:
    """An instant for people: Japan time, 令和 and the weekday in Japanese."""

    at: dt.datetime | None
    date_only: bool = False

    def render(self, lang: str) -> str:
        return when(self.at, lang, self.date_only)


def era(day: dt.date) -> str:
    """`令和8年12月2日`; the first year of an era is 元年 (formal usage)."""
    for start, name in ((dt.date(2019, 5, 1), "令和"), (dt.date(1989, 1, 8), "平成"),
                        (dt.date(1926, 12, 25), "昭和")):
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


@lru_cache(maxsize=4096)  # pure; a mail renders its deadline three times
def when(at: dt.datetime | None, lang: str = "en", date_only: bool = False) -> str:
    """`令和8年12月2日(水) 10:00` / `Wed 2 Dec 2026 10:00 JST`; `-` for none."""
    if at is None:
        return "-"
    local = at.astimezone(JST)
    if lang == "ja":
        text = f"{era(local.date())}({_WEEKDAYS_JA[local.weekday()]})"
        return text if date_only else f"{text} {local:%H:%M}"
    text = f"{local:%a} {local.day} {local:%b %Y}"
    return text if date_only else f"{text} {local:%H:%M} JST"


# ---------------------------------------------------------------- keys as people read them
def trigger_title(key: str | None, lang: str, book: Any = None) -> str:
    """A trigger's own word, without its key: `付議` / `refer` (an unknown one stays its key):
    the rulebook's (`book`, its `[triggers.KEY]`) where it words it, else the catalog's."""
    if not key:
        return ""
    word = _book_title(book, key, lang)
    if word is not None:
        return word
    entry = catalog().get(f"trigger.{key}")
    return (entry.get(lang_of(lang)) or key) if entry else key


def status_title(key: str | None, lang: str) -> str:
    """A meeting's, order's or reminder's status in words: `開催済` / `held`."""
    if not key:
        return ""
    entry = catalog().get(f"status.{key}")
    return (entry.get(lang_of(lang)) or key) if entry else key


def event_title(type_: str, lang: str) -> str:
    """An event class in words: `ItemFiled` -> `起案` / `item filed`."""
    entry = catalog().get(f"event.{type_}")
    return (entry.get(lang_of(lang)) or type_) if entry else type_


def act_title(name: str, lang: str, book: Any = None) -> str:
    """An act of the application API in words (`advance` -> `案件の進行`), as a refusal names it.
    Filing (`file_item`) is named as the rulebook `book` words it (`[filing]`: 起案) if it does."""
    filing = getattr(book, "filing", None) if book is not None and name == "file_item" else None
    if filing is not None and filing.in_(lang_of(lang)):
        return str(filing.in_(lang_of(lang)))
    entry = catalog().get(f"actname.{name}")
    return (entry.get(lang_of(lang)) or name) if entry else name


@record
class Said:
    """Words kept in the log in both languages (a refusal's reason, written when it was
    refused): the Japanese on a Japanese page, the English otherwise, either if one is empty."""

    en: str
    ja: str = ""

    def render(self, lang: str) -> str:
        return (self.ja or self.en) if lang == "ja" else (self.en or self.ja)
