"""Which rulebook version applies when: the latest that took effect by then (R-V1).

A version takes effect at the start of its day, Japan time. Built from the versions
adopted into the log (their exact text), never from the files on disk, so an audit does
not depend on what the repository holds today.
"""

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from workflows.errors import NoVersionInForce, UnknownVersion
from workflows.loader import parse_rulebook
from workflows.rulebook import Rulebook
from workflows.timezone import JST


def takes_effect(book: Rulebook) -> dt.datetime:
    """The instant a version takes effect: the start of its day in Japan."""
    return dt.datetime.combine(book.effective_from, dt.time(0, 0), tzinfo=JST).astimezone(dt.UTC)


@lru_cache(maxsize=64)
def parsed(text: str, source: str) -> Rulebook:
    """A rulebook from its exact text, parsed once per process (the text is its identity)."""
    return parse_rulebook(text, source)


class Rules:
    """The adopted rulebook versions, ordered by the day each took effect."""

    __slots__ = ("books", "by_version", "starts")

    def __init__(self, books: Iterable[Rulebook]) -> None:
        self.books = sorted(books, key=lambda b: b.effective_from)
        self.starts = [takes_effect(b) for b in self.books]
        self.by_version = {b.version: b for b in self.books}

    @classmethod
    def from_texts(cls, texts: Iterable[tuple[str, str]]) -> "Rules":
        """From (version, text) pairs as the log recorded them."""
        return cls(parsed(text, f"adopted rulebook {version}") for version, text in texts)

    def at(self, when: dt.datetime) -> Rulebook:
        """The version in force at `when`."""
        found = None
        for start, book in zip(self.starts, self.books, strict=True):
            if start <= when:
                found = book
            else:
                break
        if found is None:
            raise NoVersionInForce(when, self.books[0].effective_from if self.books else None)
        return found

    def version(self, version: str) -> Rulebook:
        try:
            return self.by_version[version]
        except KeyError:
            raise UnknownVersion(version, list(self.by_version)) from None

    def add(self, book: Rulebook) -> "Rules":
        return Rules([b for b in self.books if b.version != book.version] + [book])

    def __bool__(self) -> bool:
        return bool(self.books)
