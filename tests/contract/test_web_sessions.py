"""The store's part of web sessions (R-I6), held against every store: a session is kept by
the sha256 of its id only, comes back as it went in, ends once (a second end keeps the
first time), is written without the log's head, and a rolled-back sign-in leaves nothing."""

import datetime as dt

import pytest

from store import open_store

T0 = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
DIGEST = "ab" * 32


@pytest.fixture
def st(any_url):
    from store.db import upgrade

    if not any_url.startswith("memory"):
        upgrade(any_url)
    s = open_store(any_url, clock=lambda: T0)
    yield s
    s.close()


def test_r_i6_a_session_comes_back_and_ends_once(st):
    with st.read() as tx:
        assert tx.web_session(DIGEST) is None
    with st.act(head=False) as tx:
        tx.open_web_session(DIGEST, "sato", "cd" * 32, T0, T0 + dt.timedelta(hours=12))
    with st.read() as tx:
        assert tx.web_session(DIGEST) == {"login": "sato", "credential": "cd" * 32, "created_at": T0, "id_token": None,
                                          "expires_at": T0 + dt.timedelta(hours=12), "ended_at": None}
    with st.act(head=False) as tx:
        tx.end_web_session(DIGEST, T0 + dt.timedelta(minutes=5))
    with st.act(head=False) as tx:
        tx.end_web_session(DIGEST, T0 + dt.timedelta(minutes=9))
        tx.end_web_session("ef" * 32, T0)  # no such session: nothing happens
    with st.read() as tx:
        assert tx.web_session(DIGEST)["ended_at"] == T0 + dt.timedelta(minutes=5)
        assert tx.web_session("ef" * 32) is None
        assert tx.head().seq == 0  # signing in and out is not in the log


def test_a_rolled_back_sign_in_leaves_nothing_and_an_id_is_used_once(st):
    with st.act(head=False, rollback=True) as tx:
        tx.open_web_session(DIGEST, "sato", None, T0, T0)
    with st.read() as tx:
        assert tx.web_session(DIGEST) is None
    with st.act(head=False) as tx:
        tx.open_web_session(DIGEST, "sato", None, T0, T0)
    with pytest.raises(Exception):  # noqa: B017 (each store refuses a taken id its own way: any error will do)
        with st.act(head=False) as tx:
            tx.open_web_session(DIGEST, "kato", None, T0, T0)
    with st.read() as tx:
        assert tx.web_session(DIGEST)["login"] == "sato"


def test_an_oidc_sessions_id_token_is_kept_with_its_row(st):
    """The identity provider's ID token stays server side, for its logout's id_token_hint."""
    token = "eyJ" + "x" * 1500 + ".sig"
    with st.act(head=False) as tx:
        tx.open_web_session(DIGEST, "sato", None, T0, T0 + dt.timedelta(hours=12), token)
    with st.read() as tx:
        assert tx.web_session(DIGEST)["id_token"] == token
