"""The I/O edge that delivers reminder messages: by SMTP, or into a JSON Lines outbox file.

Only this module talks to mail servers. It turns library errors into ``DeliveryError`` with a
``transient`` flag so the scheduler can tell "try again later" from "this will never work", and it
never lets an SMTP password reach a repr, a log line or an exception message.
"""

from __future__ import annotations

import hashlib
import html
import json
import mmap
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NamedTuple, Protocol, Self, TypeVar
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

import orjson

from engine.infra.secrets import MASK, redact_url
from store.frozen import record
from engine.reminders.headers import (
    ascii_domain,
    has_line_break_or_control,
    header_text,
    header_token,
    is_header_safe,
)

try:  # POSIX only; on other systems appends rely on O_APPEND alone.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

DEFAULT_PORTS: Final = {"smtp": 25, "smtps": 465}
# Headers that ``build_email`` sets itself; a Message may not override them.
RESERVED_HEADERS: Final = frozenset(
    (
        "from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version",
        "content-type", "content-transfer-encoding", "content-disposition",
    )
)
TLS_CONTEXT_SECONDS: Final = 3600.0  # how long one sender reuses its TLS context (see SmtpSender._context)
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})

T = TypeVar("T")


class Attachment(NamedTuple):
    """A file a mail carries after its text (a meeting notice's PDF): its name as the reader
    sees it, its media type (``application/pdf``) and its bytes."""

    filename: str
    media_type: str
    content: bytes


@record  # (a frozen slots dataclass whose constructor is cheap: one per message of a pass)
class Message:
    """One mail to send.

    ``message_id`` is used verbatim as the Message-ID header. It is stable
    (e.g. ``<reminder-12-3-0-abcd@kaigi>``), so a resend of the same reminder is recognisable.
    ``to`` holds addresses; ``names`` (parallel to ``to``, may be shorter) the recipients'
    names for the To header. ``lang`` (``ja``/``en``) marks the HTML part; ``html`` replaces
    the HTML made from ``body``. ``ics`` goes as ``invite.ics`` (text/calendar, ``ics_method``),
    then ``attachments`` in order.
    ``resend``: this message may have been handed over already (a scheduler that claimed it
    died before settling it); a sender that can tell (the outbox) does not hand it over twice.
    """

    message_id: str
    to: tuple[str, ...]
    subject: str
    body: str
    ics: str | None = None
    ics_method: str = "REQUEST"
    headers: tuple[tuple[str, str], ...] = ()
    resend: bool = False
    names: tuple[str, ...] = ()
    lang: str = "ja"
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


class DeliveryError(Exception):
    """A message was not (fully) delivered. ``transient`` says whether retrying later may succeed."""

    def __init__(self, message: str, *, transient: bool, refused: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.transient = transient
        self.refused = refused


class Sender(Protocol):
    """Anything that delivers a Message or raises DeliveryError."""

    def send(self, msg: Message) -> None: ...


# --------------------------------------------------------------------------- SMTP settings


@dataclass(frozen=True, slots=True, repr=False)
class SmtpConfig:
    """How to reach the SMTP server. ``ssl`` is implicit TLS (smtps); ``starttls`` upgrades plain SMTP."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    starttls: bool = False
    timeout: float = 10.0

    def __repr__(self) -> str:
        password = None if self.password is None else MASK
        return (
            f"SmtpConfig(host={self.host!r}, port={self.port!r}, username={self.username!r}, "
            f"password={password!r}, ssl={self.ssl!r}, starttls={self.starttls!r}, timeout={self.timeout!r})"
        )

    __str__ = __repr__


def _flag(value: str, name: str, shown: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"SMTP URL {shown}: option {name}={value!r} is not 0 or 1")


def _timeout(value: str, shown: str) -> float:
    try:
        timeout = float(value)
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise ValueError(f"SMTP URL {shown}: option timeout={value!r} is not a positive number of seconds")
    return timeout


def _port(parts: SplitResult, scheme: str, shown: str) -> int:
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f"SMTP URL {shown}: the port is not a number from 1 to 65535")
    return DEFAULT_PORTS[scheme] if port is None else port


def _options(query: str, shown: str) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - {"starttls", "timeout"})
    if unknown:
        raise ValueError(f"SMTP URL {shown}: unknown option {', '.join(unknown)} (known: starttls, timeout)")
    return options


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse ``smtp://[user:pass@]host[:port][?starttls=1][&timeout=S]`` or ``smtps://…``.

    User and password are percent-decoded. Default ports are 25 (smtp) and 465 (smtps).

    Raises:
        ValueError: one line naming the problem, with the password shown as ``***``.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise ValueError(f"SMTP URL {shown} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"SMTP URL {shown}: scheme must be smtp or smtps")
    if not parts.hostname:
        raise ValueError(f"SMTP URL {shown}: no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"SMTP URL {shown}: unexpected path; percent-encode '/', '?' and '#' in a password")
    port = _port(parts, scheme, shown)
    options = _options(parts.query, shown)
    starttls = _flag(options.get("starttls", "0"), "starttls", shown)
    if scheme == "smtps" and starttls:
        raise ValueError(f"SMTP URL {shown}: smtps is already TLS; use smtp://…?starttls=1 or drop starttls")
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=scheme == "smtps",
        starttls=starttls,
        timeout=_timeout(options.get("timeout", "10"), shown),
    )


# --------------------------------------------------------------------------- building the mail


def _cte(text: str) -> str:
    """7bit for short-lined ASCII; base64 otherwise, so no server needs 8BITMIME."""
    if text.isascii() and all(len(line) <= 998 for line in text.splitlines()):
        return "7bit"
    return "base64"


def _extra_headers(em: EmailMessage, headers: tuple[tuple[str, str], ...]) -> None:
    for name, value in headers:
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by kaigi and may not be overridden")
        em[name] = header_text(value)
    if "Auto-Submitted" not in em:  # RFC 3834: keeps auto-responders from replying to reminders
        em["Auto-Submitted"] = "auto-generated"


def _addr_spec(addr: str, what: str) -> str:
    """``addr`` as it goes on the wire without SMTPUTF8: an IDN domain IDNA-encoded; a
    local part (before the @) that is not ASCII cannot go at all."""
    local, at, domain = addr.rpartition("@")
    if not at:
        return addr if addr.isascii() else _no_ascii(addr, what)
    if not local.isascii():
        _no_ascii(addr, what)
    try:
        return f"{local}@{ascii_domain(domain)}"
    except ValueError as exc:
        raise ValueError(f"{what} {header_text(addr)!r}: {exc}") from None


def _no_ascii(addr: str, what: str) -> str:
    raise ValueError(
        f"{what} {header_text(addr)!r} has letters other than ASCII before the @, which a mail server "
        "without SMTPUTF8 cannot take; use an ASCII address (the name shown may be Japanese: "
        "推進本部 事務局 <kaigi@example.jp>)"
    )


def _mailbox(value: str) -> Address:
    """The From mailbox (KAIGI_MAIL_FROM), display name and all: bidi and zero-width characters
    leave its display name; a line break or another control in it is a setting to correct,
    not to guess at; so is an address no server without SMTPUTF8 takes (an IDN domain is
    IDNA-encoded)."""
    folded = header_text(value)
    name, addr = parseaddr(folded)
    if has_line_break_or_control(value) or not addr or " " in addr or addr not in folded:
        raise ValueError(f"the sender {folded!r} is not one mailbox on one line")
    return Address(display_name=header_text(name), addr_spec=_addr_spec(addr, "the sender address"))


def envelope_sender(mail_from: str) -> str:
    """The bare address for MAIL FROM, from a KAIGI_MAIL_FROM that may carry a display name.

    Raises:
        ValueError: as ``SmtpSender`` does for a sender it cannot use."""
    return _mailbox(mail_from).addr_spec


def _recipients(msg: Message) -> list[Address]:
    out = []
    for n, addr in enumerate(msg.to):
        if not is_header_safe(addr) or " " in addr or "," in addr or not addr:
            raise ValueError(f"recipient address {header_text(addr)!r} cannot go in a mail header")
        name = header_text(msg.names[n]) if n < len(msg.names) else ""
        out.append(Address(display_name=name, addr_spec=_addr_spec(addr, "recipient address")))
    return out


# An http(s) URL in ASCII; punctuation that ends a sentence is not part of it.
_URL: Final = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_URL_TAIL: Final = ".,;:!?)]'"
_SPACE_RUN: Final = re.compile(r"(?<= ) | (?= )|^ ")


def _html_text(text: str) -> str:
    """Escaped text whose runs of spaces (an indent, aligned columns) stay visible."""
    return _SPACE_RUN.sub("&nbsp;", html.escape(text, quote=False))


def _html_line(line: str) -> str:
    out, at = [], 0
    for found in _URL.finditer(line):
        url = found.group().rstrip(_URL_TAIL)
        if url.count("://") != 1 or url.endswith("://"):
            continue
        out.append(_html_text(line[at : found.start()]))
        href = html.escape(url, quote=True)
        out.append(f'<a href="{href}">{href}</a>')
        at = found.start() + len(url)
    out.append(_html_text(line[at:]))
    return "".join(out)


def html_body(body: str, subject: str, lang: str = "ja") -> str:
    """The HTML alternative of a plain-text mail: the same text, escaped, its line breaks kept,
    each http(s) URL a link; ``lang`` (``ja``/``en``) on the root element."""
    lang = "en" if lang == "en" else "ja"
    lines = "<br>\n".join(_html_line(line) for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(header_text(subject), quote=False)}</title>\n</head>\n"
        f"<body>\n<div>\n{lines}\n</div>\n</body>\n</html>\n"
    )


def _media_type(value: str) -> tuple[str, str]:
    maintype, slash, subtype = value.strip().lower().partition("/")
    if not slash or not header_token(maintype) == maintype or not header_token(subtype) == subtype \
            or not maintype or not subtype or ";" in value:
        raise ValueError(f"attachment media type {header_text(value)!r} is not type/subtype")
    return maintype, subtype


def build_email(msg: Message, mail_from: str, sent_at: datetime) -> EmailMessage:
    """The MIME message for ``msg``, all of it 7-bit ASCII (no server needs SMTPUTF8 or 8BITMIME).

    multipart/alternative of the UTF-8 text and an HTML part made from it; then, as
    multipart/mixed, ``invite.ics`` when ``msg.ics`` is set and the further attachments.
    From keeps its display name, To carries the recipients' names; names and the subject are
    RFC 2047 encoded words. Header-unsafe text never reaches a header: the subject and display
    names are folded to one line without controls or bidi and zero-width characters
    (``headers.header_text``), the Message-ID keeps visible ASCII only. An address that is not
    header-safe cannot be delivered as written, so it is refused rather than changed.

    Raises:
        ValueError: no recipients, an address that cannot go in a header or on the wire,
            a reserved header, an attachment without a media type.
    """
    if not msg.to:
        raise ValueError(f"message {msg.message_id} has no recipients")
    message_id = header_token(msg.message_id)
    if not message_id:
        raise ValueError("a message without a Message-ID")
    em = EmailMessage(policy=policy.SMTP)
    em["From"] = _mailbox(mail_from)
    em["To"] = _recipients(msg)
    em["Subject"] = header_text(msg.subject)
    em["Date"] = format_datetime(sent_at)
    em["Message-ID"] = message_id
    _extra_headers(em, msg.headers)
    em.set_content(msg.body, charset="utf-8", cte=_cte(msg.body))
    page = msg.html if msg.html is not None else html_body(msg.body, msg.subject, msg.lang)
    em.add_alternative(page, subtype="html", charset="utf-8", cte=_cte(page))
    if msg.ics is not None:
        em.add_attachment(
            msg.ics,
            subtype="calendar",
            charset="utf-8",
            cte=_cte(msg.ics),
            filename="invite.ics",
            params={"method": header_token(msg.ics_method) or "REQUEST"},
        )
    for attachment in msg.attachments:
        maintype, subtype = _media_type(attachment.media_type)
        em.add_attachment(
            bytes(attachment.content), maintype=maintype, subtype=subtype,
            filename=header_text(attachment.filename) or "attachment",
        )
    for part in em.iter_parts():  # only the top level says MIME-Version
        for sub in (part, *part.iter_parts()):
            del sub["MIME-Version"]
    return em


def _wire(em: EmailMessage) -> bytes:
    """The message's bytes; never raw 8-bit (a ValueError if something would be)."""
    try:
        raw = em.as_bytes()
    except (UnicodeError, LookupError) as exc:
        raise ValueError(f"cannot be encoded: {exc}") from None
    if not raw.isascii():
        raise ValueError("would carry raw 8-bit text")
    return raw


# --------------------------------------------------------------------------- SMTP errors


def _text(reply: bytes | str) -> str:
    """A server reply on one line (smtplib joins multi-line replies with newlines)."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _is_transient_code(code: int) -> bool:
    """5xx replies are permanent; 4xx (and anything odd) are worth retrying."""
    return not 500 <= code < 600


def _refused_error(refused: Mapping[str, tuple[int, bytes]], delivered: bool) -> DeliveryError:
    detail = "; ".join(f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in refused.items())
    transient = not delivered and all(400 <= code < 500 for code, _ in refused.values())
    prefix = "some recipients refused (the others got it)" if delivered else "recipients refused"
    return DeliveryError(f"{prefix}: {detail}", transient=transient, refused=tuple(refused))


def _classify(exc: OSError) -> tuple[str, bool]:
    """A one-line description of an smtplib/socket error and whether it is transient.

    Transient (retried with backoff): a 4xx reply, no connection (refused, reset, lost, a
    name not resolved), a timeout. Permanent (failed at once, reported once): a 5xx reply,
    a server that lacks what the settings ask (STARTTLS, AUTH; SMTPNotSupportedError), no
    login mechanism in common, an untrusted certificate. SMTPUTF8 is never asked for: every
    mail is 7-bit ASCII with a bare ASCII envelope."""
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"cannot connect: {exc.smtp_code} {_text(exc.smtp_error)}", _is_transient_code(exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = type(exc).__name__.removeprefix("SMTP")
        return f"{kind}: {exc.smtp_code} {_text(exc.smtp_error)}", _is_transient_code(exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"server does not support what the settings ask: {exc}", False
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}", False
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"connection lost: {exc}", True
    if isinstance(exc, TimeoutError):
        return "timed out", True
    if type(exc) is smtplib.SMTPException:  # smtplib raises it bare only when logging in cannot work
        return f"cannot log in: {exc}", False
    if isinstance(exc, smtplib.SMTPException):
        return f"{type(exc).__name__}: {exc}", True
    return f"{type(exc).__name__}: {exc.strerror or exc}", True


def _translate(exc: OSError, config: SmtpConfig) -> DeliveryError:
    where = f"SMTP {config.host}:{config.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        error = _refused_error(exc.recipients, delivered=False)
        description, transient, refused = str(error), error.transient, error.refused
    else:
        (description, transient), refused = _classify(exc), ()
    if config.password:
        description = description.replace(config.password, MASK)
    return DeliveryError(f"{where}: {description}", transient=transient, refused=refused)


# --------------------------------------------------------------------------- senders


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SmtpSender:
    """Sends over SMTP. One connection per ``send``, or one for a batch inside ``with sender:``."""

    def __init__(self, config: SmtpConfig, mail_from: str, *, now: Callable[[], datetime] = _utc_now) -> None:
        """Raises ValueError if ``mail_from`` cannot be a From header or its address cannot go
        on the wire without SMTPUTF8 (refused before anything is claimed)."""
        self._envelope_from = envelope_sender(mail_from)
        self._config = config
        self._mail_from = mail_from
        self._now = now
        self._conn: smtplib.SMTP | None = None
        self._tls: tuple[ssl.SSLContext, float] | None = None  # (context, when made: time.monotonic())

    def __repr__(self) -> str:
        return f"SmtpSender({self._config!r}, mail_from={self._mail_from!r})"

    def open(self) -> None:
        """Connect (and log in) now, to reuse the connection for several messages."""
        if self._conn is None:
            self._conn = self._guarded(self._connect)

    def close(self) -> None:
        """Say QUIT and drop the connection; never raises."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _quit(conn)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, msg: Message) -> None:
        """Deliver ``msg`` or raise DeliveryError; a bad message is a permanent DeliveryError."""
        try:
            em = build_email(msg, self._mail_from, self._now())
            raw = _wire(em)
            to = [_addr_spec(addr, "recipient address") for addr in msg.to]
        except ValueError as exc:
            raise DeliveryError(f"message {msg.message_id} cannot be sent: {exc}", transient=False) from exc
        if self._conn is not None:
            self._send_on_open(to, raw)
            return
        conn = self._guarded(self._connect)
        try:
            self._guarded(lambda: self._transmit(conn, to, raw))
        finally:
            _quit(conn)

    def _send_on_open(self, to: list[str], raw: bytes) -> None:
        conn = self._conn
        assert conn is not None
        try:
            self._guarded(lambda: self._transmit(conn, to, raw))
        except DeliveryError as exc:
            if exc.transient:  # the connection may be broken; the next send reconnects
                self._conn = None
                _quit(conn)
            raise

    def _guarded(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except OSError as exc:  # smtplib.SMTPException is an OSError too
            raise _translate(exc, self._config) from None
        except UnicodeError:  # smtplib sends a user name, password or address in ASCII only
            where = f"SMTP {self._config.host}:{self._config.port}"
            raise DeliveryError(f"{where}: the user name, password or an address is not ASCII", transient=False) \
                from None

    def _transmit(self, conn: smtplib.SMTP, to: list[str], raw: bytes) -> None:
        # MAIL FROM is the bare address (with the display name smtplib would ask for SMTPUTF8);
        # the bytes are 7-bit, so a server without SMTPUTF8 or 8BITMIME takes them.
        refused = conn.sendmail(self._envelope_from, to, raw)
        if refused:
            error = _refused_error(refused, delivered=True)
            raise DeliveryError(
                f"SMTP {self._config.host}:{self._config.port}: {error}", transient=False, refused=error.refused
            )

    def _context(self) -> ssl.SSLContext:
        """The TLS settings of a smtps or STARTTLS connection: the default context (the system's
        trusted certificates, the host name checked). Loading those certificates costs ~170 ms
        of CPU, so one context serves this sender's connections (a plain one needs none), made
        anew after TLS_CONTEXT_SECONDS: a scheduler running for weeks sees a change of the
        trusted certificates."""
        now = time.monotonic()
        if self._tls is None or now - self._tls[1] >= TLS_CONTEXT_SECONDS:
            self._tls = ssl.create_default_context(), now
        return self._tls[0]

    def _connect(self) -> smtplib.SMTP:
        c = self._config
        conn: smtplib.SMTP
        if c.ssl:
            conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._context())
        else:
            conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            if c.starttls:
                conn.starttls(context=self._context())
                conn.ehlo()
            if c.username:
                conn.login(c.username, c.password or "")
        except BaseException:
            conn.close()
            raise
        return conn


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except OSError:
        conn.close()


# what json.dumps(record, ensure_ascii=False) gives, from one encoder (dumps makes one per call
# when given an option: a pass writes a line per message)
_LINE = json.JSONEncoder(ensure_ascii=False)
_PLAIN = b'{"message_id": %s, "to": [%s], "subject": %s, "body": %s, "ics": %s, "headers": {}}\n'


def _plain_line(msg: Message) -> bytes | None:
    """The outbox line of a message without extra headers or attachments (every reminder's),
    byte for byte what `OutboxSender._line` makes of it: orjson writes a string as json.dumps
    with ensure_ascii=False does (the same escapes, the rest as UTF-8; a test holds it to
    that), and the keys, their order and the separators are json.dumps's. None where that
    is not so: other fields, or a value orjson will not write (a lone surrogate: the json
    path then fails as it always did)."""
    if msg.headers or msg.attachments:
        return None
    dumps = orjson.dumps
    try:
        return _PLAIN % (dumps(msg.message_id), b", ".join([dumps(a) for a in msg.to]),
                         dumps(header_text(msg.subject)), dumps(msg.body), dumps(msg.ics))
    except orjson.JSONEncodeError:
        return None


class OutboxSender:
    """Appends each message as one JSON line; the line is on disk (fsync) before ``send`` returns.

    Inside ``open()``/``close()`` (the scheduler's batch) the file stays open and locked from
    the first line to ``flush()``: each ``send`` is one write, and ``flush`` makes the batch's
    lines durable with one fsync and lets other writers in. The scheduler flushes before it
    settles the batch's deliveries, so a settled delivery's line is on disk; a crash before
    that leaves the batch unsettled, and its resends find their lines (or write them)."""

    batched = True  # the dispatcher calls flush() before settling what send() accepted

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._locked = False
        self._dirty = False
        self._created = False
        self._size = 0
        self._ids: set[str] | None = None  # Message-IDs in the file, read once per locked batch for resends

    def __repr__(self) -> str:
        return f"OutboxSender({str(self._path)!r})"

    def check(self) -> None:
        """Before the scheduler claims anything: the outbox can be appended to (a regular file,
        its folder there or creatable), so no message is claimed that could not be written."""
        try:
            if self._path.exists() and not self._path.is_file():
                raise ValueError(f"outbox {self._path}: not a regular file")
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            os.close(fd)
        except OSError as exc:
            raise ValueError(f"outbox {self._path}: {exc.strerror or exc}") from None

    # ------------------------------------------------------------ a batch
    def open(self) -> None:
        """Keep the file open for a batch of sends (the scheduler's pass)."""
        if self._fd is not None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._created = not self._path.exists()
            self._fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise DeliveryError(f"outbox {self._path}: {exc.strerror or exc}", transient=True) from exc

    def flush(self) -> None:
        """Make every line written since the last flush durable (one fsync) and unlock the file.

        Raises DeliveryError (transient): those lines may not be on disk; their deliveries are
        not settled and go again as resends."""
        fd = self._fd
        if fd is None or not self._locked:
            return
        try:
            if self._dirty:
                os.fsync(fd)
                if self._created:
                    _fsync_dir(self._path.parent)
                    self._created = False
        except OSError as exc:
            raise DeliveryError(f"outbox {self._path}: {exc.strerror or exc}", transient=True) from exc
        finally:
            self._dirty, self._ids = False, None
            self._unlock()

    def close(self) -> None:
        """Flush (best effort: what is not settled goes again) and close; never raises."""
        fd = self._fd
        if fd is None:
            return
        try:
            self.flush()
        except DeliveryError:
            pass
        finally:
            self._fd = None
            self._unlock()
            os.close(fd)

    def _unlock(self) -> None:
        if self._locked and self._fd is not None and fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            except OSError:
                pass
        self._locked = False

    def _lock(self, fd: int) -> None:
        if self._locked:
            return
        if fcntl is not None:  # keeps lines whole when several processes append at once
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._locked = True
        self._size = _drop_torn_tail(fd)
        self._ids = None

    def _append_batched(self, fd: int, line: bytes, look_for: str | None) -> None:
        self._lock(fd)
        if look_for is not None:
            if self._ids is None:
                self._ids = _message_ids(fd, self._size)
            if look_for in self._ids:
                return
        view = memoryview(line)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            try:  # no half line left for the next to be glued onto
                os.ftruncate(fd, self._size)
            except OSError:
                self._unlock()  # the next writer cuts the torn tail
            raise
        self._size += len(line)
        self._dirty = True
        if self._ids is not None and look_for is not None:
            self._ids.add(look_for)

    # ------------------------------------------------------------ one message
    def send(self, msg: Message) -> None:
        """Append ``msg`` to the outbox file, creating it (and its folder) if needed.

        A ``resend`` first looks for its Message-ID in the file, under the same lock as the
        append: a scheduler killed after its line was written and before it was marked sent
        left the line there, and the message is then not written again (exactly once).
        Outside a batch the line is fsynced before ``send`` returns; inside one, at ``flush``.
        """
        line = _plain_line(msg)
        if line is None:
            line = self._line(msg)
        try:
            if self._fd is not None:
                self._append_batched(self._fd, line, msg.message_id if msg.resend else None)
            else:
                self._append(line, msg.message_id if msg.resend else None)
        except OSError as exc:
            raise DeliveryError(f"outbox {self._path}: {exc.strerror or exc}", transient=True) from exc

    @staticmethod
    def _line(msg: Message) -> bytes:
        record: dict[str, Any] = {
            "message_id": msg.message_id,
            "to": list(msg.to),
            "subject": header_text(msg.subject),
            "body": msg.body,
            "ics": msg.ics,
            "headers": {name: header_text(value) for name, value in msg.headers},
        }
        if msg.attachments:  # named, not copied: the document is stored under its sha256
            record["attachments"] = [
                {"filename": a.filename, "media_type": a.media_type, "sha256": hashlib.sha256(a.content).hexdigest(),
                 "size": len(a.content)} for a in msg.attachments
            ]
        return (_LINE.encode(record) + "\n").encode("utf-8")

    def _append(self, line: bytes, look_for: str | None = None) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        created = not self._path.exists()
        fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:  # keeps lines whole when several processes append at once
                fcntl.flock(fd, fcntl.LOCK_EX)
            size = _drop_torn_tail(fd)
            if look_for is not None and _holds(fd, size, look_for):
                return
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self._path.parent)


def _drop_torn_tail(fd: int) -> int:
    """Cut a last line left without its newline; returns the file's size after.

    Only a writer killed in the middle of its line leaves one (a live writer holds the lock
    until its line is whole): that message was not handed over, its delivery is still
    unsettled and will be written again whole. Left in place, the next line would be glued
    onto it and both would be lost to a reader."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            end = start + cut + 1
            break
        end = start
    os.ftruncate(fd, end)
    os.fsync(fd)
    return end


def _holds(fd: int, size: int, message_id: str) -> bool:
    """Whether a whole line of the outbox carries ``message_id`` (each line starts with it).

    One pass over the file through mmap (tens of milliseconds for 100 MB), done only for a
    resend, i.e. after a scheduler died or a transient failure."""
    if size == 0:
        return False
    needle = ('{"message_id": ' + json.dumps(message_id, ensure_ascii=False) + ",").encode("utf-8")
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as view:
        at = view.find(needle)
        while at >= 0:
            if at == 0 or view[at - 1] == 0x0A:
                return True
            at = view.find(needle, at + 1)
    return False


def _message_ids(fd: int, size: int) -> set[str]:
    """The Message-IDs of the outbox's whole lines (each line starts with its own): read once
    for a batch that carries resends, instead of a pass over the file per resend."""
    found: set[str] = set()
    if size == 0:
        return found
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as view:
        for m in _LINE_ID.finditer(view):
            try:
                found.add(json.loads(m.group(1)))
            except ValueError:
                continue
    return found


_LINE_ID: Final = re.compile(rb'(?m)^\{"message_id": ("(?:[^"\\\n]|\\.)*"),')


def _fsync_dir(folder: Path) -> None:
    """Make a new file's directory entry durable too (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
