"""Pure decision about printing a paper (`kaigi document`): who may print what.

Printing is an act: the paper's sha256 and anchor go into the log as `DocumentPrinted`,
so `document verify` can later say this log vouches for the paper. Whoever may see what a
paper documents may print it (R-R1): a meeting's notice, agenda or minutes, an item's
report; the progress report is for anyone holding a post (it holds what they may see).
Like `decide`, nothing here reads a clock or a database.
"""

import re

from engine.core.decide import Ctx
from engine.core.errors import BadInput, NotPermitted
from engine.core.events import DocumentPrinted, Event
from engine.core.sight import sight
from engine.i18n import LANGS

MEETING_PAPERS = ("notice", "agenda", "minutes")
KINDS = (*MEETING_PAPERS, "report", "progress")


def printed(ctx: Ctx, kind: str, item: int | None, meeting: int | None, lang: str, sha256: str,
            of_seq: int, head_seq: int) -> list[Event]:
    """Record that `ctx.actor` printed a paper of `kind` about `item` or `meeting`."""
    if kind not in KINDS:
        raise BadInput("paper.kind", kind=kind, kinds=", ".join(KINDS))
    if lang not in LANGS or not re.fullmatch(r"[0-9a-f]{64}", sha256) or not 0 <= of_seq <= head_seq:
        raise BadInput("paper.bad_record")
    w = ctx.world
    seen = sight(w, ctx.actor, ctx.now)
    if not seen.bodies:
        raise NotPermitted("paper.no_post", rule="R-R1")
    if kind in MEETING_PAPERS:
        if meeting is None or item is not None:
            raise BadInput("paper.bad_record")
        if not seen.meeting(w.meeting(meeting)):
            raise NotPermitted("paper.not_seen", rule="R-R1")
    elif kind == "report":
        if item is None or meeting is not None:
            raise BadInput("paper.bad_record")
        if not seen.item(w.item(item), lambda i: w.items.get(i)):
            raise NotPermitted("paper.not_seen", rule="R-R1")
    elif item is not None or meeting is not None:
        raise BadInput("paper.bad_record")
    return [DocumentPrinted(item=item, meeting=meeting, kind=kind, lang=lang, sha256=sha256, of_seq=of_seq,
                            head_seq=head_seq)]
