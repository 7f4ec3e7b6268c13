"""PostgreSQL as the witness (TRUST.md, R-I1..R-I3): the database, not the application,
says who appended an event, when, and what its chain link is.

Members' roles cannot write the log: they may only call `kaigi_begin()` (take the head,
read the database's clock once) and `kaigi_append(...)`, both `SECURITY DEFINER`
functions owned by the schema owner with their `search_path` pinned. `kaigi_append`

- takes the caller from the role in effect (`SET ROLE`, which the web face uses inside a
  request) or else the session user PostgreSQL authenticated, never from the arguments;
- on a real database, refuses an actor that is not the member bound to that role; on a
  training one, records `identity = 'training'` whatever name it is given;
- stamps the time the head was taken (`clock_timestamp()` in `kaigi_begin`), refuses a
  time earlier than the head's, and checks an `--on-behalf-of` against a delegation valid
  at that time;
- builds each event's envelope and sha256 link itself, from exactly the bytes the Python
  verifier hashes (`store/chain.py`), inserts the rows and moves the head;
- keeps the member and delegation tables (who is bound to which role, who may record for
  whom) from the events it appends: nobody but the owner writes those two tables.

Projection tables (items, meetings, …) are derived and compared by `audit verify`; a
member's role may write them only in a transaction that has appended (a trigger checks),
never freely. The owner (the role that runs migrations, or a superuser) is trusted, as
it must be: it could rewrite anything, which is what signed checkpoints are for.
"""

import re

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION kaigi_caller() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, {schema}, pg_temp AS $$
    SELECT coalesce(nullif(current_setting('role'), 'none'), session_user::text)
$$;

CREATE OR REPLACE FUNCTION kaigi_is_owner(who text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, {schema}, pg_temp AS $$
    SELECT pg_has_role(who, (SELECT tableowner FROM pg_tables WHERE schemaname = '{schema}'
                                                             AND tablename = 'event'), 'MEMBER')
$$;

CREATE OR REPLACE FUNCTION kaigi_in_group(who text, grp text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, {schema}, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grp) AND pg_has_role(who, grp, 'MEMBER')
$$;

CREATE OR REPLACE FUNCTION kaigi_begin()
RETURNS TABLE (h_seq bigint, h_hash text, h_at timestamptz, h_roster integer, h_now timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    -- The lock first, then the clock (TRUST.md): an UPDATE computes its new row, clock
    -- included, before it waits for the row, so a wait behind another holder would be
    -- stamped with the time it began (and an honest act refused as 'held too long').
    -- The wait itself is bounded by the caller's lock_timeout.
    PERFORM 1 FROM log_head WHERE id = 1 FOR UPDATE;
    RETURN QUERY
    UPDATE log_head SET lock_txid = txid_current(), lock_at = clock_timestamp()
     WHERE id = 1
    RETURNING log_head.seq::bigint, log_head.hash::text, log_head.at, log_head.roster_seq::integer, log_head.lock_at;
END
$$;

CREATE OR REPLACE FUNCTION kaigi_group(kind text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, {schema}, pg_temp AS $$
    SELECT left('kaigi_' || current_database() || '_{schema}_' || kind, 63)
$$;

CREATE OR REPLACE FUNCTION kaigi_append(p_actor text, p_authority text, p_identity text, p_rulebook text,
                                        p_at timestamptz, p_events jsonb)
RETURNS TABLE (e_seq bigint, e_hash text, e_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    h        log_head%ROWTYPE;
    -- kaigi_caller(), kaigi_group(kind) and kaigi_in_group(who, grp) written out here: an SQL
    -- function with its own search_path is planned again at every call (about 0.1 ms each,
    -- with the head held); the same expressions, so the same answers
    caller   text := coalesce(nullif(current_setting('role'), 'none'), session_user::text);
    grp      text;
    -- kaigi_is_owner(caller), written out (the owner of the event table, by its oid): a plan
    -- PL/pgSQL keeps for the session, where the SQL function (its search_path SET) is planned
    -- again at every call, with the head held
    owner    boolean := pg_has_role(caller::name, (SELECT c.relowner FROM pg_class c
                                                    WHERE c.oid = '{schema}.event'::regclass), 'MEMBER');
    mode     text;
    v_at     timestamptz;
    stamp    text;
    prev     text;
    s        bigint;
    roster   integer;
    e        jsonb;
    env      text;
    dig      text;
    pl       jsonb;
    v_item   bigint;
    v_meet   bigint;
    v_schema integer;
    v_type   text;
    d        delegation%ROWTYPE;
BEGIN
    IF p_actor IS NULL OR p_authority IS NULL OR p_identity IS NULL OR p_rulebook IS NULL OR p_events IS NULL
       OR jsonb_typeof(p_events) <> 'array' OR jsonb_array_length(p_events) = 0 THEN
        RAISE EXCEPTION 'kaigi: an append names its actor, authority, identity and rulebook, and at least one event'
              USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO h FROM log_head WHERE id = 1;
    IF h.lock_txid IS DISTINCT FROM txid_current() THEN
        RAISE EXCEPTION 'kaigi: an append must follow kaigi_begin() in the same transaction'
              USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT value INTO mode FROM kaigi_meta WHERE key = 'mode';
    IF owner THEN
        v_at := coalesce(p_at, h.lock_at);  -- the owner is trusted (tests drive a simulated clock)
    ELSE
        v_at := h.lock_at;                  -- the database's clock, read when the head was taken
        IF p_at IS DISTINCT FROM v_at THEN
            RAISE EXCEPTION 'kaigi: the time of an act is the database''s (%), not %', v_at, p_at
                  USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF clock_timestamp() - v_at > interval '60 seconds' THEN  -- no backdating by holding the head
            RAISE EXCEPTION 'kaigi: the head was taken at % and held too long; act again', v_at
                  USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF p_identity = 'scheduler' THEN
            grp := left('kaigi_' || current_database() || '_{schema}_scheduler', 63);
            IF NOT (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grp) AND pg_has_role(caller, grp, 'MEMBER'))
               OR p_actor <> 'scheduler' OR p_authority <> 'scheduler' THEN
                RAISE EXCEPTION 'kaigi: database role % records for the scheduler only as a member of %',
                      caller, grp USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                        WHERE x->>'type' IS DISTINCT FROM 'ReminderDue' AND x->>'type' IS DISTINCT FROM 'ReminderSent'
                          AND x->>'type' IS DISTINCT FROM 'ReminderFailed'
                          AND NOT (x->>'type' = 'DocumentPrinted' AND jsonb_typeof(x->'payload') = 'string'
                                   AND ((x->>'payload')::jsonb)->>'kind' = 'notice')) THEN
                RAISE EXCEPTION 'kaigi: the scheduler records reminders and the notices it mails only'
                      USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF coalesce(mode, 'training') = 'real' THEN
            IF p_identity NOT IN ('db', 'web') THEN
                RAISE EXCEPTION 'kaigi: on a real database an act is recorded as the database role that did it, not as %',
                      p_identity USING ERRCODE = 'insufficient_privilege';
            END IF;
            grp := left('kaigi_' || current_database() || '_{schema}_web', 63);
            IF p_identity = 'web' AND (current_setting('role') = 'none'
                                       OR NOT (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grp)
                                               AND pg_has_role(session_user::text, grp, 'MEMBER'))) THEN
                RAISE EXCEPTION 'kaigi: identity web is the web face''s, acting for a member with SET ROLE'
                      USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF NOT EXISTS (SELECT 1 FROM member WHERE login = p_actor AND coalesce(db_role, login) = caller) THEN
                RAISE EXCEPTION 'kaigi: database role % is not member %: an act in another''s name is refused',
                      caller, p_actor USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF p_identity <> 'training' THEN
            RAISE EXCEPTION 'kaigi: a training database records identity training, not %', p_identity
                  USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF p_authority <> p_actor AND p_identity <> 'scheduler' AND NOT EXISTS (
               SELECT 1 FROM delegation dl WHERE dl.holder = p_authority AND dl.clerk = p_actor
                  AND dl.valid_from <= v_at AND (dl.valid_until IS NULL OR v_at < dl.valid_until)) THEN
            RAISE EXCEPTION 'kaigi: % holds no delegation from % valid at %', p_actor, p_authority, v_at
                  USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF h.at IS NOT NULL AND v_at < h.at THEN
        RAISE EXCEPTION 'kaigi: the time of this act (%) is before the log''s last event (%)', v_at, h.at
              USING ERRCODE = 'check_violation';
    END IF;

    stamp  := to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00';
    prev   := h.hash;
    s      := h.seq;
    roster := h.roster_seq;
    FOR e IN SELECT x FROM jsonb_array_elements(p_events) AS x LOOP
        IF jsonb_typeof(e) <> 'object' OR jsonb_typeof(e->'type') IS DISTINCT FROM 'string'
           OR jsonb_typeof(e->'payload') IS DISTINCT FROM 'string'
           OR jsonb_typeof(e->'schema') IS DISTINCT FROM 'number'
           OR coalesce(jsonb_typeof(e->'item'), 'null') NOT IN ('number', 'null')
           OR coalesce(jsonb_typeof(e->'meeting'), 'null') NOT IN ('number', 'null') THEN
            RAISE EXCEPTION 'kaigi: an event is {type, schema, payload, item, meeting} with numbers for numbers'
                  USING ERRCODE = 'insufficient_privilege';
        END IF;
        v_type   := e->>'type';
        v_item   := (e->>'item')::bigint;
        v_meet   := (e->>'meeting')::bigint;
        v_schema := (e->>'schema')::integer;
        pl       := (e->>'payload')::jsonb;
        IF NOT owner THEN  -- the tables the database keeps itself: what the witness relies on
            IF v_type = 'MemberBound' THEN
                RAISE EXCEPTION 'kaigi: binding a member to an identity is the owner''s (run kaigi roster bind as the owner)'
                      USING ERRCODE = 'insufficient_privilege';
            ELSIF v_type = 'MemberAdded' AND (
                    coalesce(pl->>'db_role', '') !~ '^([A-Za-z0-9_][A-Za-z0-9_.@-]{0,62})?$'
                    OR coalesce(pl->>'login', '') !~ '^[a-z][a-z0-9_.-]{1,63}$'
                    OR EXISTS (SELECT 1 FROM member WHERE coalesce(db_role, login)
                                                          = coalesce(pl->>'db_role', pl->>'login'))) THEN
                RAISE EXCEPTION 'kaigi: a new member''s database role must be well formed and nobody''s yet'
                      USING ERRCODE = 'insufficient_privilege';
            ELSIF v_type IN ('CredentialSet', 'TokenCreated', 'TokenRevoked', 'MemberBound')
                  AND p_actor <> p_authority
                  OR v_type = 'MemberAdded' AND p_actor <> p_authority
                     AND (pl->>'db_role' IS NOT NULL OR pl->>'os_user' IS NOT NULL) THEN
                RAISE EXCEPTION 'kaigi: a credential or an identity is its member''s own act; no delegation covers it (R-I5)'
                      USING ERRCODE = 'insufficient_privilege';
            ELSIF v_type = 'CredentialSet' AND (v_schema < 2 OR pl->>'login' IS DISTINCT FROM p_authority
                    OR coalesce(pl->>'commitment', '') !~ '^[0-9a-f]{64}$') THEN
                RAISE EXCEPTION 'kaigi: a member sets only their own password, committing to its hash (R-I5)'
                      USING ERRCODE = 'insufficient_privilege';
            ELSIF v_type = 'TokenCreated' AND (v_schema < 2 OR pl->>'login' IS DISTINCT FROM p_authority
                    OR coalesce(pl->>'digest', '') !~ '^[0-9a-f]{64}$'
                    OR EXISTS (SELECT 1 FROM api_token WHERE id = (pl->>'id')::bigint)) THEN
                RAISE EXCEPTION 'kaigi: a member makes API tokens for themselves only, with a new id and the token''s sha256 (R-I5)'
                      USING ERRCODE = 'insufficient_privilege';
            ELSIF v_type = 'TokenRevoked' AND (v_schema < 2 OR pl->>'by' IS DISTINCT FROM p_authority
                    OR NOT EXISTS (SELECT 1 FROM api_token WHERE id = (pl->>'id')::bigint
                                      AND login = pl->>'login' AND revoked_at IS NULL)) THEN
                RAISE EXCEPTION 'kaigi: a revocation names a live token, its owner, and who revokes it (R-I5)'
                      USING ERRCODE = 'insufficient_privilege';
            ELSIF v_type = 'RecordingDelegated' AND (
                    p_actor <> p_authority OR (pl->>'valid_from')::timestamptz < v_at
                    OR (pl->>'valid_until')::timestamptz <= (pl->>'valid_from')::timestamptz
                    OR NOT EXISTS (SELECT 1 FROM member WHERE login = pl->>'clerk')) THEN
                RAISE EXCEPTION 'kaigi: a holder delegates recording from now on, to a member, for a period'
                      USING ERRCODE = 'insufficient_privilege';
            ELSIF v_type = 'DelegationEnded' THEN
                SELECT * INTO d FROM delegation WHERE id = (pl->>'id')::bigint;
                IF d.id IS NULL OR d.holder <> p_authority OR (pl->>'valid_until') IS NULL
                   OR (pl->>'valid_until')::timestamptz > coalesce(d.valid_until, 'infinity'::timestamptz)
                   OR (pl->>'valid_until')::timestamptz < least(v_at, d.valid_from) THEN
                    RAISE EXCEPTION 'kaigi: only its holder ends a delegation, and only from now on'
                          USING ERRCODE = 'insufficient_privilege';
                END IF;
            END IF;
        END IF;
        s := s + 1;
        env := '[2,' || s || ',' || to_json(stamp)::text || ',' || to_json(p_actor)::text || ','
               || to_json(p_authority)::text || ',' || to_json(p_identity)::text || ','
               || to_json(p_rulebook)::text || ',' || coalesce(v_item::text, 'null') || ','
               || coalesce(v_meet::text, 'null') || ',' || to_json(v_type)::text || ',' || v_schema::text || ']';
        dig := encode(sha256(convert_to(prev || E'\n' || env || E'\n' || (e->>'payload'), 'UTF8')), 'hex');
        INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, prev_hash,
                           hash, identity, schema, v)
        VALUES (s, v_at, p_actor, p_authority, p_rulebook, v_item, v_meet, v_type, e->>'payload', prev, dig,
                p_identity, v_schema, 2);
        IF coalesce((e->>'roster')::boolean, false) OR v_type IN ('RulebookAdopted', 'BodyAdded', 'MemberAdded',
                'MemberBound', 'RoleAssigned', 'AssignmentEnded', 'RecordingDelegated', 'DelegationEnded') THEN
            roster := s;
        END IF;
        CASE v_type
            WHEN 'MemberAdded' THEN
                INSERT INTO member (login, name, name_en, email, lang, channel, os_user, db_role)
                VALUES (pl->>'login', pl->>'name', pl->>'name_en', pl->>'email', pl->>'lang',
                        pl->>'channel', pl->>'os_user', pl->>'db_role');
            WHEN 'MemberBound' THEN
                UPDATE member SET os_user = pl->>'os_user', db_role = pl->>'db_role'
                 WHERE login = pl->>'login';
            WHEN 'RecordingDelegated' THEN
                INSERT INTO delegation (id, holder, clerk, valid_from, valid_until)
                VALUES ((pl->>'id')::bigint, p_authority, pl->>'clerk', (pl->>'valid_from')::timestamptz,
                        (pl->>'valid_until')::timestamptz);
            WHEN 'DelegationEnded' THEN
                UPDATE delegation SET valid_until = (pl->>'valid_until')::timestamptz
                 WHERE id = (pl->>'id')::bigint;
            WHEN 'RoleAssigned' THEN
                INSERT INTO assignment (id, login, position, body, team, valid_from, valid_until)
                VALUES ((pl->>'id')::bigint, pl->>'login', pl->>'position', pl->>'body', pl->>'team',
                        (pl->>'valid_from')::timestamptz, (pl->>'valid_until')::timestamptz);
            WHEN 'AssignmentEnded' THEN
                UPDATE assignment SET valid_until = (pl->>'valid_until')::timestamptz
                 WHERE id = (pl->>'id')::bigint;
            WHEN 'BodyAdded' THEN
                INSERT INTO body (key, kind, ja, en) VALUES (pl->>'key', pl->>'kind', pl->>'ja', pl->>'en');
            WHEN 'TokenCreated' THEN  -- api_token is the log's: folded here, written by nobody else (R-I5)
                INSERT INTO api_token (id, login, name, digest, created_at, expires_at)
                VALUES ((pl->>'id')::bigint, pl->>'login', pl->>'name',
                        coalesce(pl->>'digest', 'unlogged:' || (pl->>'id')), v_at, (pl->>'expires_at')::timestamptz);
            WHEN 'TokenRevoked' THEN
                UPDATE api_token SET revoked_at = v_at WHERE id = (pl->>'id')::bigint AND revoked_at IS NULL;
            WHEN 'RulebookAdopted' THEN
                INSERT INTO rulebook_adoption (version, effective_from, sha256, text)
                VALUES (pl->>'version', (pl->>'effective_from')::date, pl->>'sha256', pl->>'text');
            ELSE NULL;
        END CASE;
        prev := dig;
        e_seq := s; e_hash := dig; e_at := v_at;
        RETURN NEXT;
    END LOOP;
    UPDATE log_head SET seq = s, hash = prev, at = v_at, roster_seq = roster, append_txid = txid_current()
     WHERE id = 1;
END
$$;

CREATE OR REPLACE FUNCTION kaigi_projection_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    -- an act's own writes first: its append is in this transaction (the cheap test; whether
    -- the caller is the owner, who may write at any time, is looked up only when it fails)
    IF (SELECT append_txid FROM log_head WHERE id = 1) IS NOT DISTINCT FROM txid_current() THEN
        RETURN NULL;
    END IF;
    IF NOT kaigi_is_owner(kaigi_caller()) THEN
        RAISE EXCEPTION 'kaigi: % is a projection of the log; it changes only with an append in the same transaction',
              TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kaigi_set_credential(p_login text, p_hash text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    last event%ROWTYPE;
BEGIN
    -- R-I5: no member's role writes the credential table; a password hash comes in here, only
    -- right after the CredentialSet its member appended for himself in this transaction,
    -- and only the hash that event committed to.
    SELECT e.* INTO last FROM event e JOIN log_head h ON e.seq = h.seq
     WHERE h.id = 1 AND h.append_txid = txid_current();
    IF p_login IS NULL OR p_hash IS NULL OR last.seq IS NULL OR last.type <> 'CredentialSet'
       OR (last.payload::jsonb)->>'login' IS DISTINCT FROM p_login
       OR last.authority IS DISTINCT FROM p_login OR last.actor IS DISTINCT FROM p_login
       OR (last.payload::jsonb)->>'commitment' IS DISTINCT FROM encode(sha256(convert_to(p_hash, 'UTF8')), 'hex')
       OR NOT kaigi_is_owner(kaigi_caller()) AND last.identity IN ('db', 'web')
          AND NOT EXISTS (SELECT 1 FROM member WHERE login = p_login AND coalesce(db_role, login) = kaigi_caller()) THEN
        RAISE EXCEPTION 'kaigi: a password is kept only with its member''s own CredentialSet, committing to this hash (R-I5)'
              USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO credential (login, hash, set_at) VALUES (p_login, p_hash, last.at)
        ON CONFLICT (login) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at;
END
$$;

CREATE OR REPLACE FUNCTION kaigi_credential_commitments() RETURNS TABLE (login text, digest text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
    -- what audit verify compares with the log's commitments, without handing anyone a hash
    SELECT c.login::text, encode(sha256(convert_to(c.hash, 'UTF8')), 'hex') FROM credential c
$$;

CREATE OR REPLACE FUNCTION kaigi_document_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF NEW.sha256 <> encode(sha256(NEW.content), 'hex') THEN
        RAISE EXCEPTION 'kaigi: a document is kept under the sha256 of its content'
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION kaigi_begin() FROM PUBLIC;
REVOKE ALL ON FUNCTION kaigi_append(text, text, text, text, timestamptz, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION kaigi_set_credential(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION kaigi_credential_commitments() FROM PUBLIC;
"""

PROJECTIONS = ("item", "meeting", "investigation_order")  # written by members' roles, under the guard
KEPT = ("member", "delegation", "assignment", "body", "rulebook_adoption", "api_token")  # by the append function only
# credential: by kaigi_set_credential only, after its member's own CredentialSet (R-I5)

TRIGGERS = "\n".join(
    f"CREATE TRIGGER {t}_guard BEFORE INSERT OR UPDATE OR DELETE ON {t} "
    "FOR EACH STATEMENT EXECUTE FUNCTION kaigi_projection_guard();" for t in PROJECTIONS) + """
CREATE TRIGGER document_guard BEFORE INSERT OR UPDATE ON document FOR EACH ROW EXECUTE FUNCTION kaigi_document_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS api_token_guard ON api_token;
DROP TRIGGER IF EXISTS credential_guard ON credential;
DROP TRIGGER IF EXISTS document_guard ON document;
""" + "\n".join(f"DROP TRIGGER IF EXISTS {t}_guard ON {t};" for t in PROJECTIONS) + """
DROP FUNCTION IF EXISTS kaigi_secret_guard();
DROP FUNCTION IF EXISTS kaigi_set_credential(text, text);
DROP FUNCTION IF EXISTS kaigi_credential_commitments();
DROP FUNCTION IF EXISTS kaigi_document_guard();
DROP FUNCTION IF EXISTS kaigi_projection_guard();
DROP FUNCTION IF EXISTS kaigi_append(text, text, text, text, timestamptz, jsonb);
DROP FUNCTION IF EXISTS kaigi_begin();
DROP FUNCTION IF EXISTS kaigi_group(text);
DROP FUNCTION IF EXISTS kaigi_in_group(text, text);
DROP FUNCTION IF EXISTS kaigi_is_owner(text);
DROP FUNCTION IF EXISTS kaigi_caller();
"""

GROUP_KINDS = ("member", "auditor", "scheduler", "web")
READABLE = ("event", "log_head", "item", "meeting", "investigation_order", "member", "assignment", "delegation",
            "body", "rulebook_adoption", "document", "delivery", "kaigi_meta", "alembic_version")
ROLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}")


def quote_ident(name: str) -> str:
    """A role or schema name as an SQL identifier (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def group_name(database: str, schema: str, kind: str) -> str:
    """This installation's group role of a kind: per database and schema, so two HQs on one
    cluster never share members (the SQL function `kaigi_group` says the same)."""
    if not database.isascii():
        raise ValueError("kaigi's group roles need an ASCII database name")
    return f"kaigi_{database}_{schema}_{kind}"[:63]


def grants(schema: str, database: str, existing: set[str], member_roles: list[str]) -> list[str]:
    """The SQL of `kaigi db grant`: this installation's group roles, what each may do, and
    each member's login role made a member (and the web face's to act as). Only names that
    are well formed and exist become statements; none is interpolated into code."""
    s = quote_ident(schema)
    g = {k: group_name(database, schema, k) for k in GROUP_KINDS}
    q = {k: quote_ident(v) for k, v in g.items()}
    everyone = ", ".join(q.values())
    out = [f"CREATE ROLE {q[k]} NOLOGIN" for k in GROUP_KINDS if g[k] not in existing]
    out += [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM PUBLIC",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {s} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {s} TO {everyone}",
        f"GRANT SELECT ON {', '.join(f'{s}.{t}' for t in READABLE)} TO {everyone}",
        f"GRANT INSERT, UPDATE ON {', '.join(f'{s}.{t}' for t in PROJECTIONS)} TO {q['member']}, {q['scheduler']}",
        f"GRANT INSERT ON {s}.document TO {q['member']}, {q['scheduler']}",  # the notice a mail carries
        # R-I5: nobody but the append function and kaigi_set_credential writes these two
        f"REVOKE INSERT, UPDATE, DELETE ON {s}.credential, {s}.api_token FROM {everyone}",
        f"GRANT SELECT (login, set_at) ON {s}.credential TO {q['member']}",
        f"GRANT SELECT ON {s}.api_token TO {q['member']}, {q['auditor']}",
        f"GRANT SELECT ON {s}.credential, {s}.api_token TO {q['web']}",
        f"GRANT SELECT, INSERT, UPDATE ON {s}.web_session TO {q['web']}",
        f"GRANT {q['member']} TO {q['web']}",
        f"GRANT INSERT, UPDATE ON {s}.delivery TO {q['scheduler']}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {q['scheduler']}",
        f"GRANT EXECUTE ON FUNCTION {s}.kaigi_begin(), "
        f"{s}.kaigi_append(text, text, text, text, timestamptz, jsonb), {s}.kaigi_caller(), {s}.kaigi_group(text), "
        f"{s}.kaigi_in_group(text, text), {s}.kaigi_is_owner(text) TO {q['member']}, {q['scheduler']}",
        f"GRANT EXECUTE ON FUNCTION {s}.kaigi_set_credential(text, text) TO {q['member']}",
        f"GRANT EXECUTE ON FUNCTION {s}.kaigi_credential_commitments() TO {everyone}",
        f"GRANT EXECUTE ON FUNCTION {s}.kaigi_caller(), {s}.kaigi_is_owner(text) TO {q['auditor']}",
    ]
    for role in member_roles:
        if ROLE_NAME.fullmatch(role) and role in existing:
            out.append(f"GRANT {q['member']} TO {quote_ident(role)}")
            out.append(f"GRANT {quote_ident(role)} TO {q['web']}")
    return out
