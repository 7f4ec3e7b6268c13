"""The hash chain of the event log: canonical encoding and links. Standard library only.

Each event's hash is sha256 over the previous hash, the canonical JSON of its envelope
(seq, time, actor, authority, rulebook version, item, meeting, type) and the canonical
JSON of its payload. The payload is stored as exactly the text that was hashed, so no
database JSON type can re-order keys under the hash (LIBRARIES.md 2.1, JSONB).
"""

import datetime as dt
import hashlib
import json
from typing import Any

GENESIS = "0" * 64


_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode  # built once


def canonical(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text kept as is."""
    return _ENCODE(value)


def instant(at: dt.datetime) -> str:
    """The one text form of a time inside hashed data: UTC, microseconds, offset."""
    return at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def envelope(seq: int, at: str, actor: str, authority: str, rulebook: str,
             item: int | None, meeting: int | None, type_: str) -> str:
    return canonical([seq, at, actor, authority, rulebook, item, meeting, type_])


def link(prev_hash: str, envelope_text: str, payload_text: str) -> str:
    data = f"{prev_hash}\n{envelope_text}\n{payload_text}".encode("utf-8")
    return hashlib.sha256(data).hexdigest()
