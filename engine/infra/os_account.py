"""The OS account this process runs as: what SQLite's real databases take as the actor.

It is the effective uid's entry in the password database, never `$USER` or `$LOGNAME`
(which anyone can set): on SQLite the operating system is the only witness we have.
"""

import os


def os_account() -> str:
    """The name of the account running kaigi. A uid with no passwd entry is named
    `uid:N`, which no member is bound to: never the environment's word for it."""
    try:
        import pwd
    except ImportError:  # Windows: no uid; only training databases are meant for it
        import getpass

        return f"user:{getpass.getuser()}"
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid:{os.geteuid()}"
