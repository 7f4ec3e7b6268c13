"""Web passwords, hashed with argon2id (argon2-cffi): never stored or logged in plain text,
compared in constant time by the library, re-hashed when its parameters move on."""

from typing import Any

_HASHER: Any = None
MIN_LENGTH = 10
MAX_LENGTH = 1024


def hasher() -> Any:
    global _HASHER
    if _HASHER is None:
        from argon2 import PasswordHasher

        _HASHER = PasswordHasher()
    return _HASHER


def hash_password(password: str) -> str:
    return str(hasher().hash(password))


def verify_password(stored: str | None, password: str) -> bool:
    """True if `password` matches `stored`; a missing hash costs the same as a wrong one."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    h = hasher()
    try:
        if stored is None:
            h.verify(_DUMMY(), password)
            return False
        return bool(h.verify(stored, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy: list[str] = []


def _DUMMY() -> str:  # noqa: N802 (a constant, made once)
    if not _dummy:
        _dummy.append(hash_password("not a password of anyone's"))
    return _dummy[0]
