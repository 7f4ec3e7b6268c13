"""Secrets are never shown: URLs are redacted wherever a person or a log could read them."""

import re
from typing import Final

MASK: Final = "***"
_QUERY_SECRET: Final = re.compile(r"([?&](?:password|passwd|pass|pwd)=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with any password (in the userinfo or a ``password=`` query option) replaced by ``***``."""
    url = _QUERY_SECRET.sub(rf"\g<1>{MASK}", url)
    scheme, sep, rest = url.partition("://")
    if not sep or rest.startswith("/"):
        return url
    # Like urlsplit, take the last "@": an unescaped "@" or "/" in a password must still be hidden.
    userinfo, at, hostpart = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not at or not colon:
        return url
    return f"{scheme}://{user}:{MASK}@{hostpart}"


def redact_text(text: str, *secrets: str | None) -> str:
    """`text` (a driver's error, say) with every URL in it redacted and each secret masked."""
    out = re.sub(r"[a-z][a-z0-9+.-]*://\S+", lambda m: redact_url(m.group(0)), text)
    out = re.sub(r"(password\s*=\s*)\S+", rf"\g<1>{MASK}", out, flags=re.IGNORECASE)
    for s in secrets:
        if s:
            out = out.replace(s, MASK)
    return out
