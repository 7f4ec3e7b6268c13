"""Who is acting: the member a face authenticated, and how (R-I1).

A face (the CLI, the web) says who it authenticated by building an `Actor`; the engine
records the identity kind with every event. `SYSTEM` sets a database up, `SCHEDULER`
records what the reminder daemon did. Only a training database takes a name on trust.
"""

from store.frozen import record

IDENTITIES = ("training", "os", "db", "web", "system", "scheduler")


@record
class Actor:
    """A member as authenticated: `identity` is how (an OS account, a database role, a web
    login), or `training` when the database takes names on trust."""

    login: str
    identity: str = "training"
    via: str | None = None  # the OS account or database role that authenticated them

    def __post_init__(self) -> None:
        if self.identity not in IDENTITIES:
            raise ValueError(f"unknown identity {self.identity!r}")


SYSTEM = Actor("system", "system")
SCHEDULER = Actor("scheduler", "scheduler")
