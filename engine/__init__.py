"""kaigi's application API: what every face (the CLI, the web) builds and calls.

    import engine
    kaigi = engine.open(settings)          # or engine.open_url("sqlite:///kaigi.db")
    kaigi.advance(actor, 5, "refer", meeting=3)
    with kaigi.read() as q:
        q.item(5)

The engine never imports a face. Its layers: `engine.core` decides and folds (pure),
`engine.reminders` plans and delivers reminders, `engine.app` runs acts and queries,
`engine.infra` holds settings, logs and time.
"""

__kaigi__ = "engine"  # cli.py checks this mark: the top-level `engine` is kaigi's own

from typing import Any

__all__ = ["SCHEDULER", "SYSTEM", "Actor", "BadInput", "Conflict", "DomainError", "IntegrityFailure", "NotFound",
           "NotPermitted", "NotPossible", "open", "open_url"]


def open_url(url: str, *, clock: Any = None, readonly: bool = False, mail_domain: str = "kaigi.local",
             pool: int | None = None) -> Any:
    """A `Kaigi` over the database at `url` (`memory://`, `sqlite:///FILE`, `postgresql+psycopg://…`);
    `pool`: PostgreSQL connections this process keeps at most (KAIGI_PG_POOL)."""
    from engine.app.kaigi import Kaigi
    from store import open_store

    return Kaigi(open_store(url, clock=clock, readonly=readonly, pool=pool), mail_domain=mail_domain)


def open(settings: Any, *, clock: Any = None, readonly: bool = False) -> Any:  # noqa: A001 (the API's one verb)
    """A `Kaigi` built from `engine.infra.settings.Settings`."""
    from engine.reminders.headers import domain_of

    domain = domain_of(settings.mail_from)  # `推進本部 事務局 <kaigi@example.jp>` gives example.jp
    return open_url(settings.db_url, clock=clock, readonly=readonly, mail_domain=domain,
                    pool=getattr(settings, "pg_pool", None))


def __getattr__(name: str) -> Any:
    """The API's names, imported when first used (importing `engine.i18n` for a help text
    must not pull in the application)."""
    if name in ("SCHEDULER", "SYSTEM", "Actor"):
        from engine.core import identity

        return getattr(identity, name)
    if name in __all__:
        from engine.core import errors

        return getattr(errors, name)
    raise AttributeError(name)
