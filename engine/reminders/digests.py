"""What a `ReminderDue` keeps of each message it queued: a digest of the message and one of
where it goes. The dispatcher computes them when a rung fires; `audit verify` computes them
again from the delivery rows, so a changed text or a redirected address is caught. Pure.
"""

import hashlib
from functools import lru_cache


def route_digest(recipient: str, channel: str, address: str, ics: str | None) -> str:
    """Where a message goes: kept with the ReminderDue, so a redirected address is caught."""
    if not ics:
        return _route(recipient, channel, address)
    return hashlib.sha256(f"{recipient}\n{channel}\n{address}\n{ics}".encode()).hexdigest()


@lru_cache(maxsize=1024)  # pure; a pass asks it once per message, of a roster's few addresses
def _route(recipient: str, channel: str, address: str) -> str:
    return hashlib.sha256(f"{recipient}\n{channel}\n{address}\n".encode()).hexdigest()


def message_digest(recipient: str, subject: str, body: str) -> str:
    """What a ReminderDue keeps of each message it queued."""
    return hashlib.sha256(f"{recipient}\n{subject}\n{body}".encode()).hexdigest()
