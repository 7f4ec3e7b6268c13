"""Pure decisions about people and powers outside meetings: the roster (R-P1), delegation
to the secretariat (R-A1), investigation orders (R-T5), rulebook versions (R-V1).

Which roles hold these powers is rulebook data (`[powers]`); no role key is written here.
"""

import datetime as dt
import re
from typing import Any

from engine.core import authority as au
from engine.core import text
from engine.core.decide import Ctx, body_title
from engine.core.errors import BadInput, NotFound, NotPermitted, NotPossible
from engine.core.events import (AssignmentEnded, BodyAdded, DelegationEnded, Event, MemberAdded, MemberBound,
                                OrderCompleted, OrderIssued, OrderWaived, RecordingDelegated, RoleAssigned,
                                RulebookAdopted)
from engine.i18n import Msg, Said, When
from store.records import AssignmentRecord, BodyRecord, DelegationRecord, ItemRecord, MemberRecord, OrderRecord
from workflows import Rulebook

LOGIN = re.compile(r"[a-z][a-z0-9_.-]{1,63}")
IDENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}")  # an OS account or a database role
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")


# ---------------------------------------------------------------- the roster (R-P1)
def _may_organise(ctx: Ctx, body: BodyRecord, position: str | None = None) -> None:
    """R-P1: the chief organises the HQ; a station chief organises their own station HQ,
    except its head: who chiefs a station is the HQ chief's to say."""
    pw = ctx.book.powers
    hq = ctx.world.top()
    top = body.kind == ctx.book.top_kind
    head_role = ctx.book.head_of(body.kind)  # R-P1: the role heading a body below the top
    head = position is not None and head_role is not None and ctx.book.role_of(position) == head_role
    # R-P4: at a lower body the top organiser appoints the head only, when the rulebook says so
    if ctx.holds(pw.organise_top, hq) and (top or head or position is None or pw.top_in_body != "head"):
        return
    if not top and not head and ctx.holds(pw.organise_body, body.key):
        return
    if head:
        raise ctx.refuse(Msg("act.appoint_head", body=body_title(body)), pw.organise_top, hq, "R-P1")
    if not top and pw.top_in_body == "head" and ctx.holds(pw.organise_top, hq):
        raise ctx.refuse(Msg("act.organise", body=body_title(body)), pw.organise_body, body.key, "R-P4")
    roles = pw.organise_top if top else pw.organise_body + pw.organise_top
    raise ctx.refuse(Msg("act.organise", body=body_title(body)), roles, body.key, "R-P1")


def identity_fields(os_user: str | None, db_role: str | None) -> None:
    for value, what in ((os_user, "os_user"), (db_role, "db_role")):
        if value is not None and not IDENT.fullmatch(value):
            raise BadInput("member.bad_identity", what=what, value=value[:70])


def add_member(ctx: Ctx, login: str, name: str, name_en: str, email: str | None, lang: str, channel: str,
               os_user: str | None = None, db_role: str | None = None) -> list[Event]:
    if not LOGIN.fullmatch(login):
        raise BadInput("member.bad_login", login=login[:70])
    if login in ctx.world.members:
        raise BadInput("member.exists", login=login)
    name = text.line(name, "name", 200, required=True, old=ctx.legacy_text)
    name_en = text.line(name_en, "name_en", 200, old=ctx.legacy_text) or name
    if email is not None and not EMAIL.fullmatch(email):
        raise BadInput("member.bad_email", email=email[:70])
    if lang not in ("ja", "en") or channel not in ("email", "outbox"):
        raise BadInput("member.bad_lang")
    identity_fields(os_user, db_role)
    if os_user is not None or db_role is not None:
        own_act(ctx, "binding")
    pw = ctx.book.powers
    if not (ctx.holds(pw.organise_top, ctx.world.top()) or any(h.role in pw.organise_body for h in ctx.held)):
        raise ctx.refuse(Msg("act.add_members"), pw.organise_top + pw.organise_body, ctx.world.top(), "R-P1")
    _unique_identity(ctx, login, os_user, db_role)
    return [MemberAdded(login=login, name=name, name_en=name_en, email=email, lang=lang, channel=channel,
                        os_user=os_user, db_role=db_role)]


def _unique_identity(ctx: Ctx, login: str, os_user: str | None, db_role: str | None) -> None:
    """R-I5: a binding held by another member is refused. A member bound to nothing is
    authenticated by their login (`kaigi.authenticate`: `os_user or login`), so that is
    what they hold: binding a newcomer to `sato` takes HQ member sato's account even when
    sato's own os_user is empty (the check compared only explicit bindings before)."""
    for m in ctx.world.members.values():
        if m.login == login:
            continue
        for value, what in ((os_user or login, "os_user"), (db_role or login, "db_role")):
            if value == (getattr(m, what) or m.login):
                raise NotPermitted("member.identity_taken", rule="R-I5", what=what, value=value, login=m.login)


def bind_member(ctx: Ctx, member: MemberRecord, os_user: str | None, db_role: str | None) -> list[Event]:
    """Bind a member to the OS account or database role that authenticates them (the chief's;
    never under a delegation, R-I5)."""
    identity_fields(os_user, db_role)
    own_act(ctx, "binding")
    pw = ctx.book.powers
    if not ctx.holds(pw.organise_top, ctx.world.top()):
        raise ctx.refuse(Msg("act.bind"), pw.organise_top, ctx.world.top(), "R-I1")
    _unique_identity(ctx, member.login, os_user, db_role)
    return [MemberBound(login=member.login, os_user=os_user, db_role=db_role)]


def assign(ctx: Ctx, assignment_id: int, member: MemberRecord, position: str, body: BodyRecord,
           team: str | None, valid_from: dt.datetime, valid_until: dt.datetime | None) -> list[Event]:
    """A member takes a position in a body for a period; its role comes from the rulebook."""
    book = ctx.book
    pos = book.positions.get(position)
    if pos is None:
        raise BadInput("position.none", position=position, known=", ".join(book.positions))
    role = book.roles[pos.role]
    if role.body != body.kind:
        raise BadInput("position.wrong_body", position=pos.title, kind=role.body, body=body.key, is_=body.kind)
    if team is not None and team not in book.teams:
        raise BadInput("team.none", team=team, known=", ".join(book.teams))
    if valid_until is not None and valid_until <= valid_from:
        raise BadInput("period.backwards", what=Msg("what.assignment"))
    _may_organise(ctx, body, position)
    return [RoleAssigned(id=assignment_id, login=member.login, position=position, body=body.key, team=team,
                         valid_from=valid_from, valid_until=valid_until)]


def end_assignment(ctx: Ctx, assignment: AssignmentRecord, body: BodyRecord, at: dt.datetime) -> list[Event]:
    _may_organise(ctx, body, assignment.position)
    if at <= assignment.valid_from:
        raise BadInput("assignment.end_before_start", id=assignment.id, start=When(assignment.valid_from))
    if assignment.valid_until is not None and assignment.valid_until <= at:
        raise NotPossible("assignment.ended", id=assignment.id, end=When(assignment.valid_until))
    return [AssignmentEnded(id=assignment.id, valid_until=at)]


BODY_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def add_body(ctx: Ctx, key: str, kind: str, name: str, name_en: str) -> list[Event]:
    """R-P1: who organises the top body sets up a body of one of the rulebook's kinds below
    it (a police station's HQ, a district); its people are then appointed by `assign`. The
    top body is founded once, by `kaigi init`, never here."""
    book = ctx.book
    if not BODY_KEY.fullmatch(key):
        raise BadInput("body.bad_key", key=key[:70])
    if kind not in book.body_kinds:
        kinds = [Msg("body.kind_entry", key=k, title=Said(b.title.en, b.title.ja)) for k, b in book.body_kinds.items()]
        raise BadInput("body.no_kind", kind=kind[:70], known=kinds)
    name = text.line(name, "body_name", 200, required=True, old=ctx.legacy_text)
    name_en = text.line(name_en, "body_name_en", 200, old=ctx.legacy_text) or name
    pw = ctx.book.powers
    top = ctx.world.body(None).key
    if not ctx.holds(pw.organise_top, top):
        raise ctx.refuse(Msg("act.add_body", kind=book.body_kinds[kind].title), pw.organise_top, top, "R-P1")
    if kind == book.top_kind:
        raise NotPossible("body.top_once", kind=book.body_kinds[kind].title, top=body_title(ctx.world.bodies[top]))
    for b in ctx.world.bodies.values():
        if key in (b.key, b.ja, b.en):
            raise BadInput("body.exists", key=key, body=body_title(b))
        for n in {name, name_en}:
            if n in (b.key, b.ja, b.en):
                raise BadInput("body.name_taken", name=n, body=body_title(b))
    return [BodyAdded(key=key, kind=kind, ja=name, en=name_en)]


# ---------------------------------------------------------------- investigation orders (R-T5)
def issue_order(ctx: Ctx, order_id: int, item: ItemRecord, to: MemberRecord, due_at: dt.datetime,
                note: str) -> list[Event]:
    """The general manager orders a team leader to investigate an item in pre-review."""
    pw = ctx.book.powers
    hq = ctx.world.top()
    note = text.prose(note, "note", 10_000, old=ctx.legacy_text)
    if ctx.holds(pw.order, hq) is None:
        raise ctx.refuse(Msg("act.order"), pw.order, hq, "R-T5")
    held = au.holdings(ctx.world, ctx.book, to.login, ctx.now)
    if au.holds(ctx.world, held, ctx.book, pw.ordered, hq) is None:
        raise NotPermitted("order.to_team_leaders", rule="R-T5", roles=ctx.titles(pw.ordered), who=ctx.person(to.login),
                           held=ctx.held_text(held))
    if item.state != pw.order_state:
        st = ctx.book.states.get(item.state)
        raise NotPossible("order.wrong_state", rule="R-T5", id=item.id, state=st.title if st else item.state)
    if due_at <= ctx.now:
        raise BadInput("order.due_past")
    return [OrderIssued(item=item.id, id=order_id, to=to.login, due_at=due_at, note=note)]


def complete_order(ctx: Ctx, order: OrderRecord, finding: str, item: ItemRecord) -> list[Event]:
    if ctx.authority != order.to:
        raise NotPermitted("order.only_ordered", rule="R-T5", who=ctx.person(order.to), id=order.id)
    if order.status != "open":
        raise NotPossible("order.settled", id=order.id, status=order.status)
    if not ctx.book.is_open(item.state):
        raise NotPossible("order.item_final", item=item.id)
    finding = text.prose(finding, "finding", 10_000, strip=True, old=ctx.legacy_text)
    if not finding:
        raise BadInput("order.needs_finding")
    return [OrderCompleted(item=order.item, id=order.id, finding=finding)]


def waive_order(ctx: Ctx, order: OrderRecord, reason: str, item: ItemRecord) -> list[Event]:
    pw = ctx.book.powers
    if ctx.holds(pw.order, ctx.world.top()) is None:
        raise ctx.refuse(Msg("act.waive"), pw.order, ctx.world.top(), "R-T5")
    if order.status != "open":
        raise NotPossible("order.settled", id=order.id, status=order.status)
    reason = text.prose(reason, "reason", 10_000, strip=True, old=ctx.legacy_text)
    if not reason:
        raise BadInput("order.needs_reason")
    return [OrderWaived(item=order.item, id=order.id, reason=reason)]


# ---------------------------------------------------------------- the secretariat (R-A1)
def delegate(ctx: Ctx, delegation_id: int, clerk: MemberRecord, valid_from: dt.datetime,
             valid_until: dt.datetime) -> list[Event]:
    """A role holder lets a secretariat clerk record their acts, for a period."""
    book = ctx.book
    if not [h for h in ctx.held if not book.roles[h.role].records_on_behalf_only]:
        raise NotPermitted("delegation.holders_only", rule="R-A1", held=ctx.held_text())
    held = au.holdings(ctx.world, book, clerk.login, valid_from)
    if au.holds(ctx.world, held, book, book.clerk_roles, ctx.world.top()) is None:
        raise NotPermitted("delegation.clerks_only", rule="R-A1", roles=ctx.titles(book.clerk_roles),
                           who=ctx.person(clerk.login), held=ctx.held_text(held))
    if valid_until <= valid_from:
        raise BadInput("period.backwards", what=Msg("what.delegation"))
    return [RecordingDelegated(id=delegation_id, clerk=clerk.login, valid_from=valid_from, valid_until=valid_until)]


def end_delegation(ctx: Ctx, d: DelegationRecord, at: dt.datetime) -> list[Event]:
    if ctx.authority != d.holder:
        raise NotPermitted("delegation.only_holder", rule="R-A1", who=ctx.person(d.holder), id=d.id)
    if d.valid_until is not None and d.valid_until <= at:
        raise NotPossible("delegation.ended", id=d.id)
    return [DelegationEnded(id=d.id, valid_until=max(at, d.valid_from))]


def may_record_for(ctx: Ctx) -> DelegationRecord:
    """R-A1: a clerk records a holder's act only under a delegation valid now; returns it."""
    book = ctx.book
    clerk = au.holdings(ctx.world, book, ctx.actor, ctx.now)
    if au.holds(ctx.world, clerk, book, book.clerk_roles, ctx.world.top()) is None:
        raise NotPermitted("delegation.not_clerk", rule="R-A1", roles=ctx.titles(book.clerk_roles),
                           who=ctx.person(ctx.actor), held=ctx.held_text(clerk))
    for d in ctx.world.delegations.values():
        if d.holder == ctx.authority and d.clerk == ctx.actor and d.valid_at(ctx.now):
            return d
    raise NotPermitted("delegation.none_valid", rule="R-A1", clerk=ctx.person(ctx.actor),
                       holder=ctx.person(ctx.authority), clerk_login=ctx.actor)


# ---------------------------------------------------------------- rulebook versions (R-V1)
def adopt_rulebook(ctx: Ctx, book: Rulebook) -> list[Event]:
    """The chief adopts a new version (a circular), in force from its effective date."""
    pw = ctx.book.powers
    if ctx.holds(pw.adopt_rulebook, ctx.world.top()) is None:
        raise ctx.refuse(Msg("act.adopt"), pw.adopt_rulebook, ctx.world.top(), "R-V1")
    if book.version in ctx.world.adoptions:
        raise NotPossible("rulebook.adopted", version=book.version)
    return [RulebookAdopted(version=book.version, effective_from=book.effective_from.isoformat(),
                            sha256=book.sha256, text=book.text)]


# ---------------------------------------------------------------- credentials and identity (R-I5)
def own_act(ctx: Ctx, what: str) -> None:
    """R-I5: a credential or identity act is the member's own; a delegation (R-A1) to record
    another's acts never covers it, so a clerk cannot mint a way in for the delegator."""
    if ctx.actor != ctx.authority:
        raise NotPermitted("credential.no_delegation", rule="R-I5", what=Msg(f"what.{what}"),
                           holder=ctx.person(ctx.authority))


def is_chief(ctx: Ctx) -> bool:
    """The chief: who organises the HQ (R-P1's `organise_top` at the top body)."""
    return ctx.holds(ctx.book.powers.organise_top, ctx.world.top()) is not None


def set_password(ctx: Ctx, login: str, commitment: str | None, *, legacy: bool = False) -> list[Event]:
    """R-I5: a member sets their own web password, nobody another's (the chief included:
    else the chief could sign in as anyone). `legacy`: an event logged before R-I5, judged
    by the rule then (own, or the chief's for anyone)."""
    from engine.core.events import CredentialSet

    ctx.world.member(login)
    if legacy:
        if login != ctx.authority and not is_chief(ctx):
            raise NotPermitted("password.not_yours", rule="R-I5", login=login)
        return [CredentialSet(login=login)]
    own_act(ctx, "password")
    if login != ctx.authority:
        raise NotPermitted("password.not_yours", rule="R-I5", login=login)
    if commitment is None or not _HEX64.fullmatch(commitment):
        raise BadInput("credential.bad_digest")
    return [CredentialSet(login=login, commitment=commitment)]


def create_token(ctx: Ctx, token_id: int, name: str, expires_at: Any, digest: str | None,
                 *, legacy: bool = False) -> list[Event]:
    """R-I5: an API token is its member's own: created by them, for them, never by a clerk."""
    from engine.core.events import TokenCreated

    ctx.world.member(ctx.authority)
    if not legacy:
        own_act(ctx, "token")
        if digest is None or not _HEX64.fullmatch(digest):
            raise BadInput("credential.bad_digest")
    if expires_at is not None and expires_at <= ctx.now:
        raise BadInput("token.expired_already")
    return [TokenCreated(id=token_id, login=ctx.authority, name=name, expires_at=expires_at, digest=digest)]


def revoke_token(ctx: Ctx, token_id: int, owner: str | None, revoked: bool = False, *,
                 legacy: bool = False) -> list[Event]:
    """R-I5: a token's owner revokes it, or the chief anyone's; never under a delegation.
    To anyone else another's token is as absent as one that never was."""
    from engine.core.events import TokenRevoked

    if owner is None or (owner != ctx.authority and not is_chief(ctx)):
        raise NotFound("token.none", id=token_id)
    if not legacy:
        own_act(ctx, "token")
    if revoked:
        raise BadInput("token.revoked_already", id=token_id)
    return [TokenRevoked(id=token_id, login=owner, by=ctx.authority)]


_HEX64 = re.compile(r"[0-9a-f]{64}")
