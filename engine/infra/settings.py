"""Builds the one frozen ``Settings`` from the --db option, the environment and ``kaigi.toml``.

Reads nothing at import time: the caller passes the environment mapping and the working folder, so
tests need no monkeypatching. No password in a URL ever reaches a repr or an error message.

This module is the one place a KAIGI_* setting is read (tests/unit/test_settings_one_place.py):
the faces and engine/app ask `load_settings` (everything) or `environment()` (the variables that
have no key in kaigi.toml: language, --as, the web face's perimeter, secrets), never os.environ.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final


CONFIG_NAME: Final = "kaigi.toml"
SECTION: Final = "kaigi"
DEFAULT_MAIL_FROM: Final = "kaigi@localhost"
KEYS: Final = ("db", "smtp_url", "mail_from", "outbox", "log", "digest", "base_url", "mail_papers")
_MEMORY: Final = ("", ":memory:")


@dataclass(frozen=True, slots=True)
class Environment:
    """The KAIGI_* variables that have no key in kaigi.toml, read once; empty counts as unset.
    Secrets (`secret`, `key_passphrase`, `oidc_client_secret`) stay out of the repr."""

    lang: str | None = None  # KAIGI_LANG: ja or en
    as_login: str | None = None  # KAIGI_AS: the login --as names when the option is not given
    https: bool = False  # KAIGI_HTTPS=1: session cookies only over HTTPS
    trust_proxy_header: bool = False  # KAIGI_TRUST_PROXY_HEADER=1
    trusted_proxies: str = ""  # KAIGI_TRUSTED_PROXIES: comma-separated peers believed about X-Forwarded-For
    proxy_header: str | None = None  # KAIGI_PROXY_HEADER (default Remote-User)
    proxy_realm: str | None = None  # KAIGI_PROXY_REALM
    secret: str | None = field(default=None, repr=False)  # KAIGI_SECRET: signs the session cookies
    key_passphrase: str | None = field(default=None, repr=False)  # KAIGI_KEY_PASSPHRASE: the checkpoint key's
    oidc_issuer: str | None = None  # KAIGI_OIDC_ISSUER
    oidc_client_id: str | None = None  # KAIGI_OIDC_CLIENT_ID
    oidc_client_secret: str | None = field(default=None, repr=False)  # KAIGI_OIDC_CLIENT_SECRET
    oidc_login_claim: str | None = None  # KAIGI_OIDC_LOGIN_CLAIM
    workers: str | None = None  # KAIGI_WORKERS: `kaigi serve`'s processes when --workers is not given

    @property
    def oidc(self) -> dict[str, str] | None:
        """{"issuer", "client_id", "client_secret", "login_claim"} when an issuer and a client are set."""
        if not (self.oidc_issuer and self.oidc_client_id):
            return None
        return {"issuer": self.oidc_issuer, "client_id": self.oidc_client_id,
                "client_secret": self.oidc_client_secret or "", "login_claim": self.oidc_login_claim or ""}


def environment(environ: Mapping[str, str] | None = None) -> Environment:
    """The `Environment` of `environ` (default: this process's)."""
    env = _env(os.environ if environ is None else environ)
    lang = env.get("KAIGI_LANG")
    return Environment(
        lang=lang, as_login=env.get("KAIGI_AS"), https=env.get("KAIGI_HTTPS") == "1",
        trust_proxy_header=env.get("KAIGI_TRUST_PROXY_HEADER") == "1",
        trusted_proxies=env.get("KAIGI_TRUSTED_PROXIES", ""), proxy_header=env.get("KAIGI_PROXY_HEADER"),
        proxy_realm=env.get("KAIGI_PROXY_REALM"), secret=env.get("KAIGI_SECRET"),
        key_passphrase=env.get("KAIGI_KEY_PASSPHRASE"), oidc_issuer=env.get("KAIGI_OIDC_ISSUER"),
        oidc_client_id=env.get("KAIGI_OIDC_CLIENT_ID"), oidc_client_secret=env.get("KAIGI_OIDC_CLIENT_SECRET"),
        oidc_login_claim=env.get("KAIGI_OIDC_LOGIN_CLAIM"), workers=env.get("KAIGI_WORKERS"))


MAX_WORKERS: Final = 64
PG_POOL: Final = 4  # store.sql.POOL
MAX_PG_POOL: Final = 100  # PostgreSQL's own default max_connections


def pg_pool_size(value: str | None) -> int:
    """KAIGI_PG_POOL: how many PostgreSQL connections one process keeps at most (each
    `kaigi serve --workers` process its own), a whole number 1-MAX_PG_POOL; default PG_POOL.

    Raises:
        ValueError: one line naming the variable and the range.
    """
    if value is None:
        return PG_POOL
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_PG_POOL:
        return int(text)
    shown = text[:20].encode("unicode_escape").decode("ascii")
    raise ValueError(f"KAIGI_PG_POOL: {shown!r} is not a whole number of connections 1-{MAX_PG_POOL}")


def workers_count(value: str | None) -> int | None:
    """`kaigi serve`'s number of processes (--workers or KAIGI_WORKERS, default 1), or None
    when `value` is not a whole number 1-MAX_WORKERS (the face says so in one line)."""
    if value is None:
        return 1
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        return None
    n = int(text)
    return n if 1 <= n <= MAX_WORKERS else None


def in_memory(db_url: str) -> bool:
    """Whether `db_url` names a database held in one process's memory (memory://, sqlite://)."""
    scheme, _, rest = db_url.partition("://")
    return scheme.lower() == "memory" or (scheme.lower().startswith("sqlite") and rest.removeprefix("/").partition("?")[0] in _MEMORY)


def hand_to_workers(db_url: str, secret: str) -> None:
    """What `kaigi serve --workers N` hands its worker processes, which read their settings
    again (web.app.create_from_settings): the database it resolved, and one session secret
    so that a cookie one worker signed holds on every other."""
    os.environ["KAIGI_DB"] = db_url
    os.environ["KAIGI_SECRET"] = secret


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    """Where the database, mail server, outbox and log are; ``config_path`` is the file read, if any."""

    db_url: str
    smtp_url: str | None
    mail_from: str
    outbox: Path | None
    log_file: Path | None
    config_path: Path | None
    digest: str | None = None  # "HH:MM" Japan time: one mail a day per member instead of one per reminder
    base_url: str | None = None  # the web face's address: reminders link to the page of each act
    mail_papers: bool = True  # invitations carry the convocation notice as a PDF
    env: Environment = field(default_factory=Environment)  # the variables with no key in the file
    pg_pool: int = PG_POOL  # KAIGI_PG_POOL: PostgreSQL connections a process keeps at most

    def __repr__(self) -> str:
        from engine.infra.secrets import redact_url

        smtp = None if self.smtp_url is None else redact_url(self.smtp_url)
        return (
            f"Settings(db_url={redact_url(self.db_url)!r}, smtp_url={smtp!r}, mail_from={self.mail_from!r}, "
            f"outbox={self.outbox!r}, log_file={self.log_file!r}, config_path={self.config_path!r})"
        )

    __str__ = __repr__


def default_db_url(cwd: Path) -> str:
    """``sqlite:///`` followed by the path of ``kaigi.db`` in ``cwd``."""
    return "sqlite:///" + str(cwd / "kaigi.db")


def _split_sqlite(db_url: str) -> tuple[str, str, str] | None:
    """(scheme, path, "?query" or "") of a SQLite URL naming a file; None for other URLs or memory."""
    scheme, sep, rest = db_url.partition("://")
    if not sep or scheme.lower().split("+")[0] != "sqlite":
        return None
    # sqlite:///relative.db and sqlite:////absolute.db: the path follows the (empty) host's "/".
    path, mark, query = rest.removeprefix("/").partition("?")
    if path in _MEMORY:
        return None
    return scheme, path, mark + query


MAX_SETTINGS = 256 * 1024


def check_db_url(url: str, where: str) -> None:
    """A database URL kaigi can open, checked before anything connects: its scheme, and for
    PostgreSQL its host and port. The error names where it came from, never its password."""
    from urllib.parse import urlsplit

    from engine.infra.secrets import redact_url

    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in url):
        raise ValueError(f"{where}: the database URL holds control characters or invalid UTF-8")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory" or scheme.startswith("sqlite"):
        if scheme not in ("sqlite", "sqlite+pysqlite"):
            raise ValueError(f"{where}: unsupported database URL {redact_url(url)}: use sqlite:///FILE")
        return
    if scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"{where}: unsupported database URL {redact_url(url)}: use sqlite:///FILE or "
                         "postgresql+psycopg://USER@HOST:PORT/DATABASE")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as err:
        raise ValueError(f"{where}: malformed PostgreSQL URL {redact_url(url)}: {err}") from None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{where}: malformed PostgreSQL URL {redact_url(url)}: the port is not 1-65535")
    if not (parts.path.strip("/") or "dbname=" in (parts.query or "")):
        raise ValueError(f"{where}: PostgreSQL URL {redact_url(url)} names no database")
    del host


def sqlite_file(db_url: str, base: Path) -> Path | None:
    """The database file of a SQLite URL, relative paths taken from ``base``; None for other URLs."""
    parts = _split_sqlite(db_url)
    return None if parts is None else base / parts[1]


def _absolute_sqlite(db_url: str, base: Path) -> str:
    """A relative SQLite path in the settings file is taken from the file's folder."""
    parts = _split_sqlite(db_url)
    if parts is None or Path(parts[1]).is_absolute():
        return db_url
    scheme, path, query = parts
    return f"{scheme}:///{base / path}{query}"


def _config_location(env: Mapping[str, str], given_db: str | None, cwd: Path) -> tuple[Path, bool]:
    """The settings file to read, and whether it must exist (only when named by KAIGI_CONFIG)."""
    if "KAIGI_CONFIG" in env:
        return cwd / env["KAIGI_CONFIG"], True
    database = sqlite_file(given_db, cwd) if given_db else None
    if database is not None:
        return database.parent / CONFIG_NAME, False
    return cwd / CONFIG_NAME, False


def _parse_toml(path: Path, required: bool) -> dict[str, Any] | None:
    try:
        if path.exists() and not path.is_file():  # a FIFO or a device would block or never end
            raise ValueError(f"settings file {path}: not a regular file")
        if path.exists() and path.stat().st_size > MAX_SETTINGS:
            raise ValueError(f"settings file {path}: larger than {MAX_SETTINGS // 1024} KiB; not a settings file")
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ValueError(f"settings file {path}: not found") from None
        return None
    except OSError as exc:
        raise ValueError(f"settings file {path}: cannot read it: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"settings file {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"settings file {path}: invalid TOML: {exc}") from None


def _check_keys(table: Mapping[str, Any], where: str, path: Path) -> None:
    for key in table:
        if key not in KEYS:
            near = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (known: {', '.join(KEYS)})"
            raise ValueError(f"settings file {path}: unknown key {where}{key!r}{hint}")
        value = table[key]
        if not isinstance(value, str) or not value:
            raise ValueError(f"settings file {path}: {where}{key!r} must be a non-empty string")


def _settings_table(data: Mapping[str, Any], path: Path) -> dict[str, str]:
    """The kaigi keys, from the top level and/or a [kaigi] table; other tables belong to others."""
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    section = data.get(SECTION, {})
    if not isinstance(section, dict):
        raise ValueError(f"settings file {path}: {SECTION!r} must be a table")
    _check_keys(top, "", path)
    _check_keys(section, f"{SECTION}.", path)
    both = sorted(set(top) & set(section))
    if both:
        raise ValueError(f"settings file {path}: {both[0]!r} is set both at the top level and in [{SECTION}]")
    return {**top, **section}


def _env(environ: Mapping[str, str]) -> dict[str, str]:
    """The KAIGI_* variables; an empty one counts as unset, as shells make that easy."""
    return {k: v for k, v in environ.items() if k.startswith("KAIGI_") and v}


def _path(value: str | None, base: Path) -> Path | None:
    return None if value is None else base / value


def load_settings(environ: Mapping[str, str] | None = None, *, db_url: str | None = None, cwd: Path) -> Settings:
    """Resolve the settings: --db, then the environment, then the settings file, then defaults.

    The file is ``KAIGI_CONFIG`` (relative to ``cwd``), else ``kaigi.toml`` beside the SQLite file
    named by --db or ``KAIGI_DB``, else ``cwd/kaigi.toml``. Relative paths in the file (``outbox``,
    ``log``, a SQLite ``db``) are relative to the file's folder; relative paths in the environment
    are relative to ``cwd``.

    Raises:
        ValueError: one line naming the settings file and what is wrong with it.
    """
    environ = os.environ if environ is None else environ
    env = _env(environ)
    given_db = db_url or env.get("KAIGI_DB")
    path, required = _config_location(env, given_db, cwd)
    data = _parse_toml(path, required)
    values = {} if data is None else _settings_table(data, path)
    folder = path.parent
    file_db = values.get("db")
    url = given_db or (file_db and _absolute_sqlite(file_db, folder)) or default_db_url(cwd)
    check_db_url(url, "--db / KAIGI_DB" if given_db else f"settings file {path}: db" if file_db else "the default")
    return Settings(
        db_url=url,
        smtp_url=env.get("KAIGI_SMTP_URL") or values.get("smtp_url"),
        mail_from=env.get("KAIGI_MAIL_FROM") or values.get("mail_from") or DEFAULT_MAIL_FROM,
        outbox=_path(env.get("KAIGI_OUTBOX"), cwd) or _path(values.get("outbox"), folder),
        log_file=_path(env.get("KAIGI_LOG"), cwd) or _path(values.get("log"), folder),
        config_path=None if data is None else path,
        digest=_digest(env.get("KAIGI_DIGEST") or values.get("digest"), path),
        base_url=check_base_url(env.get("KAIGI_BASE_URL") or values.get("base_url")),
        mail_papers=_switch("mail_papers", env.get("KAIGI_MAIL_PAPERS", values.get("mail_papers"))),
        env=environment(environ),
        pg_pool=pg_pool_size(env.get("KAIGI_PG_POOL")),
    )


def _switch(name: str, value: object) -> bool:
    """An on/off setting (default on): 1/0, true/false, yes/no, on/off, or a TOML boolean."""
    if value is None or value is True or value is False:
        return value is not False
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}: {str(value)[:20]!r} is not on or off (1/0, true/false, yes/no)")


def _digest(value: str | None, path: Path) -> str | None:
    """The daily digest's time, HH:MM Japan time (KAIGI_DIGEST or `digest` in the file)."""
    import re

    if value is None:
        return None
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if m is None:
        raise ValueError(f"digest: {value[:20]!r} is not a time of day HH:MM (Japan time), as in 08:30")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def check_base_url(value: str | None) -> str | None:
    """The web face's address as people open it (KAIGI_BASE_URL or `base_url` in the file):
    an http(s) URL with a host and no query or fragment; kept with one trailing slash."""
    from urllib.parse import urlsplit

    if value is None:
        return None
    from engine.infra.secrets import redact_url

    shown = redact_url(value[:80]).encode("unicode_escape").decode("ascii")
    bad = ValueError(f"base_url: {shown!r} is not a web address http(s)://HOST/…, as in https://kaigi.police.example/")
    if any(ord(c) <= 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value.strip()):
        raise bad
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - a malformed port raises
    except ValueError:
        raise bad from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or "@" in parts.netloc:
        raise bad
    return value.strip().rstrip("/") + "/"
