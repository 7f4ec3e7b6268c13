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
    RETURN QUERY
    UPDATE log_head SET lock_txid = txid_current(), lock_at = clock_timestamp()
     WHERE id = 1
    RETURNING log_head.seq::bigint, log_head.hash::text, log_head.at, log_head.roster_seq::integer, log_head.lock_at;
END
$$;

CREATE OR REPLACE FUNCTION kaigi_append(p_actor text, p_authority text, p_identity text, p_rulebook text,
                                        p_at timestamptz, p_events jsonb)
RETURNS TABLE (e_seq bigint, e_hash text, e_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    h        log_head%ROWTYPE;
    caller   text := kaigi_caller();
    owner    boolean := kaigi_is_owner(kaigi_caller());
    mode     text;
    v_at     timestamptz;
    stamp    text;
    prev     text;
    s        bigint;
    roster   integer;
    e        jsonb;
    env      text;
    dig      text;
    body     jsonb;
BEGIN
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
        IF p_identity = 'scheduler' THEN
            IF NOT kaigi_in_group(caller, 'kaigi_scheduler') OR p_actor <> 'scheduler'
               OR p_authority <> 'scheduler' THEN
                RAISE EXCEPTION 'kaigi: database role % records for the scheduler only as a member of kaigi_scheduler',
                      caller USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                        WHERE x->>'type' NOT IN ('ReminderDue', 'ReminderSent', 'ReminderFailed')) THEN
                RAISE EXCEPTION 'kaigi: the scheduler records reminders only'
                      USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF coalesce(mode, 'training') = 'real' THEN
            IF p_identity NOT IN ('db', 'web') THEN
                RAISE EXCEPTION 'kaigi: on a real database an act is recorded as the database role that did it, not as %',
                      p_identity USING ERRCODE = 'insufficient_privilege';
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
               SELECT 1 FROM delegation d WHERE d.holder = p_authority AND d.clerk = p_actor
                  AND d.valid_from <= v_at AND (d.valid_until IS NULL OR v_at < d.valid_until)) THEN
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
        s := s + 1;
        env := '[2,' || s || ',' || to_json(stamp)::text || ',' || to_json(p_actor)::text || ','
               || to_json(p_authority)::text || ',' || to_json(p_identity)::text || ','
               || to_json(p_rulebook)::text || ',' || coalesce(e->>'item', 'null') || ','
               || coalesce(e->>'meeting', 'null') || ',' || to_json(e->>'type')::text || ','
               || ((e->>'schema')::integer)::text || ']';
        dig := encode(sha256(convert_to(prev || E'\n' || env || E'\n' || (e->>'payload'), 'UTF8')), 'hex');
        INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, prev_hash,
                           hash, identity, schema, v)
        VALUES (s, v_at, p_actor, p_authority, p_rulebook, (e->>'item')::bigint, (e->>'meeting')::bigint,
                e->>'type', e->>'payload', prev, dig, p_identity, (e->>'schema')::integer, 2);
        IF (e->>'roster')::boolean THEN
            roster := s;
        END IF;
        body := (e->>'payload')::jsonb;
        CASE e->>'type'
            WHEN 'MemberAdded' THEN
                INSERT INTO member (login, name, name_en, email, lang, channel, os_user, db_role)
                VALUES (body->>'login', body->>'name', body->>'name_en', body->>'email', body->>'lang',
                        body->>'channel', body->>'os_user', body->>'db_role');
            WHEN 'MemberBound' THEN
                UPDATE member SET os_user = body->>'os_user', db_role = body->>'db_role'
                 WHERE login = body->>'login';
            WHEN 'RecordingDelegated' THEN
                INSERT INTO delegation (id, holder, clerk, valid_from, valid_until)
                VALUES ((body->>'id')::bigint, p_authority, body->>'clerk', (body->>'valid_from')::timestamptz,
                        (body->>'valid_until')::timestamptz);
            WHEN 'DelegationEnded' THEN
                UPDATE delegation SET valid_until = (body->>'valid_until')::timestamptz
                 WHERE id = (body->>'id')::bigint;
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
    IF kaigi_is_owner(kaigi_caller()) THEN
        RETURN NULL;
    END IF;
    IF (SELECT append_txid FROM log_head WHERE id = 1) IS DISTINCT FROM txid_current() THEN
        RAISE EXCEPTION 'kaigi: % is a projection of the log; it changes only with an append in the same transaction',
              TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kaigi_secret_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    last event%ROWTYPE;
BEGIN
    IF kaigi_is_owner(kaigi_caller()) THEN
        RETURN NEW;
    END IF;
    SELECT e.* INTO last FROM event e JOIN log_head h ON e.seq = h.seq
     WHERE h.id = 1 AND h.append_txid = txid_current();
    IF last.seq IS NULL OR last.type NOT IN ('CredentialSet', 'TokenCreated', 'TokenRevoked')
       OR (last.payload::jsonb)->>'login' IS DISTINCT FROM NEW.login THEN
        RAISE EXCEPTION 'kaigi: a password or token of % is set only with its event, appended in the same transaction',
              NEW.login USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
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
"""

PROJECTIONS = ("item", "meeting", "investigation_order", "assignment", "body", "rulebook_adoption")

TRIGGERS = "\n".join(
    f"CREATE TRIGGER {t}_guard BEFORE INSERT OR UPDATE OR DELETE ON {t} "
    "FOR EACH STATEMENT EXECUTE FUNCTION kaigi_projection_guard();" for t in PROJECTIONS) + """
CREATE TRIGGER document_guard BEFORE INSERT OR UPDATE ON document FOR EACH ROW EXECUTE FUNCTION kaigi_document_guard();
CREATE TRIGGER credential_guard BEFORE INSERT OR UPDATE ON credential FOR EACH ROW EXECUTE FUNCTION kaigi_secret_guard();
CREATE TRIGGER api_token_guard BEFORE INSERT OR UPDATE ON api_token FOR EACH ROW EXECUTE FUNCTION kaigi_secret_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS api_token_guard ON api_token;
DROP TRIGGER IF EXISTS credential_guard ON credential;
DROP TRIGGER IF EXISTS document_guard ON document;
""" + "\n".join(f"DROP TRIGGER IF EXISTS {t}_guard ON {t};" for t in PROJECTIONS) + """
DROP FUNCTION IF EXISTS kaigi_secret_guard();
DROP FUNCTION IF EXISTS kaigi_document_guard();
DROP FUNCTION IF EXISTS kaigi_projection_guard();
DROP FUNCTION IF EXISTS kaigi_append(text, text, text, text, timestamptz, jsonb);
DROP FUNCTION IF EXISTS kaigi_begin();
DROP FUNCTION IF EXISTS kaigi_in_group(text, text);
DROP FUNCTION IF EXISTS kaigi_is_owner(text);
DROP FUNCTION IF EXISTS kaigi_caller();
"""

GROUPS = ("kaigi_member", "kaigi_auditor", "kaigi_scheduler", "kaigi_web")
READABLE = ("event", "log_head", "item", "meeting", "investigation_order", "member", "assignment", "delegation",
            "body", "rulebook_adoption", "document", "delivery", "kaigi_meta", "alembic_version")


def quote_ident(name: str) -> str:
    """A role or schema name as an SQL identifier (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def grants(schema: str, member_roles: list[str]) -> list[str]:
    """The SQL of `kaigi db grant`: the group roles, what each may do, and each member's
    login role made a member of `kaigi_member` (roles that do not exist yet are skipped)."""
    s = quote_ident(schema)
    groups = ", ".join(GROUPS)
    out = ["DO $$ BEGIN " + " ".join(
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{g}') THEN CREATE ROLE {g} NOLOGIN; END IF;"
        for g in GROUPS) + " END $$"]
    out += [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM PUBLIC",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {s} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {s} TO {groups}",
        f"GRANT SELECT ON {', '.join(f'{s}.{t}' for t in READABLE)} TO {groups}",
        f"GRANT INSERT, UPDATE ON {', '.join(f'{s}.{t}' for t in PROJECTIONS)} TO kaigi_member, kaigi_scheduler",
        f"GRANT INSERT ON {s}.document TO kaigi_member",
        f"GRANT SELECT (login, set_at), INSERT, UPDATE ON {s}.credential TO kaigi_member",
        f"GRANT SELECT, INSERT, UPDATE ON {s}.api_token TO kaigi_member",
        f"GRANT SELECT ON {s}.credential, {s}.api_token TO kaigi_web",
        f"GRANT kaigi_member TO kaigi_web",
        f"GRANT INSERT, UPDATE ON {s}.delivery TO kaigi_scheduler",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO kaigi_scheduler",
        f"GRANT EXECUTE ON FUNCTION {s}.kaigi_begin(), "
        f"{s}.kaigi_append(text, text, text, text, timestamptz, jsonb), {s}.kaigi_caller(), "
        f"{s}.kaigi_in_group(text, text), {s}.kaigi_is_owner(text) TO kaigi_member, kaigi_scheduler",
        f"GRANT EXECUTE ON FUNCTION {s}.kaigi_caller() TO kaigi_auditor",
    ]
    for role in member_roles:  # each member a kaigi_member; the web face may SET ROLE to them
        out.append(f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role.replace(chr(39), chr(39) * 2)}')"
                   f" THEN GRANT kaigi_member TO {quote_ident(role)}; GRANT {quote_ident(role)} TO kaigi_web;"
                   " END IF; END $$")
    return out
