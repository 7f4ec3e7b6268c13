"""Which rulebook version applies when: the latest that took effect by then (R-V1).

Built from the versions adopted into the log (their exact text), never from the files
on disk, so an audit does not depend on what the repository holds today.
"""

import datetime as dt

from engine.errors import NotFound
from engine.timeutil import start_of_day_jst
from workflows import Rulebook, parse_rulebook


class Rules:
    """The adopted rulebook versions, ordered by the day each took effect (Japan time)."""

    def __init__(self, books: list[Rulebook]) -> None:
        self.books = sorted(books, key=lambda b: b.effective_from)
        self._starts = [start_of_day_jst(b.effective_from) for b in self.books]
        self.by_version = {b.version: b for b in self.books}

    @classmethod
    def from_texts(cls, texts: list[tuple[str, str]]) -> "Rules":
        """From (version, text) pairs as the log recorded them."""
        return cls([parse_rulebook(text, f"adopted rulebook {version}") for version, text in texts])

    def at(self, when: dt.datetime) -> Rulebook:
        """The version in force at `when`."""
        found = None
        for start, book in zip(self._starts, self.books, strict=True):
            if start <= when:
                found = book
        if found is None:
            first = self.books[0].effective_from.isoformat() if self.books else "none adopted"
            raise NotFound(f"no rulebook was in force at {when.isoformat()} (first: {first})")
        return found

    def version(self, version: str) -> Rulebook:
        try:
            return self.by_version[version]
        except KeyError:
            known = ", ".join(self.by_version) or "none"
            raise NotFound(f"no rulebook version {version!r}; adopted: {known}") from None

    def add(self, book: Rulebook) -> "Rules":
        return Rules([b for b in self.books if b.version != book.version] + [book])
