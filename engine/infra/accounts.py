"""The OS account this process runs as: what SQLite's real databases take as the actor.

It is the effective uid's entry in the password database, never `$USER` or `$LOGNAME`
(which anyone can set): on SQLite the operating system is the only witness we have.
"""

import os


def os_account() -> str:
    """The name of the account running kaigi (its uid as text if it has no name)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):  # no pwd (Windows) or an unnamed uid
        import getpass

        try:
            return getpass.getuser()
        except Exception:  # noqa: BLE001
            return str(getattr(os, "geteuid", lambda: "unknown")())
