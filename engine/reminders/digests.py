"""What a `ReminderDue` keeps of each message it queued: a digest of the message and one of
where it goes. The dispatcher computes them when a rung fires; `audit verify` computes them
again from the delivery rows, so a changed text or a redirected address is caught. Pure.
"""

import hashlib


def route_digest(recipient: str, channel: str, address: str, ics: str | None) -> str:
    """Where a message goes: kept with the ReminderDue, so a redirected address is caught."""
    return hashlib.sha256(f"{recipient}\n{channel}\n{address}\n{ics or ''}".encode()).hexdigest()


def message_digest(recipient: str, subject: str, body: str) -> str:
    """What a ReminderDue keeps of each message it queued."""
    return hashlib.sha256(f"{recipient}\n{subject}\n{body}".encode()).hexdigest()
