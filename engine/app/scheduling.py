"""`kaigi scheduler run`: the senders the settings name, the dispatcher, one pass or the clock.

The face parses the options, calls `dispatcher_for` then `run_once` or `run_clock`, and renders
their counts; everything wired in between lives here.
"""

import datetime as dt
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from engine.app import testhooks
from engine.core.errors import NotPossible


def senders(settings: Any) -> dict[str, Any]:
    """The channels the settings name: mail (KAIGI_SMTP_URL) and/or an outbox folder.

    Raises:
        ValueError: one line naming the setting that is wrong (never its password).
    """
    from engine.reminders.senders import OutboxSender, SmtpSender, parse_smtp_url

    out: dict[str, Any] = {}
    if settings.smtp_url:
        try:
            config = parse_smtp_url(settings.smtp_url)
        except ValueError as err:
            raise ValueError(f"KAIGI_SMTP_URL: {err}") from None
        try:
            out["email"] = SmtpSender(config, settings.mail_from)
        except ValueError as err:
            raise ValueError(f"KAIGI_MAIL_FROM: {err}") from None
    if settings.outbox:
        out["outbox"] = OutboxSender(Path(settings.outbox))
        try:
            out["outbox"].check()
        except ValueError as err:
            raise ValueError(f"KAIGI_OUTBOX: {err}") from None
    return out


def dispatcher_for(kaigi: Any, settings: Any, *, lease_seconds: float) -> Any:
    """The dispatcher over the settings' channels; NotPossible when none is set."""
    from engine.reminders.dispatch import Dispatcher

    channels = senders(settings)
    if not channels:
        raise NotPossible("scheduler.no_channel")
    return Dispatcher(kaigi, channels, lease=dt.timedelta(seconds=lease_seconds), after_send=testhooks.after_send(),
                      digest=settings.digest, base_url=settings.base_url, papers=settings.mail_papers)


def _single(kaigi: Any, settings: Any) -> Any:
    """One scheduler per SQLite file (a lock beside it); PostgreSQL leases rows instead."""
    from engine.infra.settings import sqlite_file
    from engine.reminders.scheduler import SingleScheduler

    db_file = sqlite_file(settings.db_url, Path.cwd()) if kaigi.store.dialect == "sqlite" else None
    return SingleScheduler(db_file) if db_file else nullcontext()


def run_once(kaigi: Any, settings: Any, dispatcher: Any) -> Any:
    """One pass: fire what is due, send, retry; its counts."""
    with _single(kaigi, settings):
        return dispatcher.run_once()


def run_clock(kaigi: Any, settings: Any, dispatcher: Any, sweep_seconds: float,
              started: Callable[[], None] = lambda: None) -> Any:
    """Run until stopped (a signal); `started` is called once the lock is held. The totals."""
    from engine.reminders.scheduler import ReminderClock

    with _single(kaigi, settings):
        clock = ReminderClock(dispatcher, sweep_seconds=sweep_seconds)
        started()
        clock.start()
        return clock.total
