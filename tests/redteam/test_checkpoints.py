"""Signed checkpoints (TRUST.md): whoever can write the database can rewrite its tail with
recomputed hashes, or erase a refusal; a checkpoint the auditor signed and kept outside
catches both (exit 7, naming the checkpoint). Forged, altered and foreign checkpoints fail."""

import json
import os
import stat
from pathlib import Path

import pytest

from engine.app.audit import verify
from tests.conftest import drop_append_only, raw
from tests.redteam.test_tamper import rehash_from


@pytest.fixture
def signed(demo_cli, tmp_path):
    """A demo log with a refusal at its tail, the auditor's keys, and a checkpoint of the head."""
    r = demo_cli("--as", "nakamura", "meeting", "convene", "council", "--at", "now")
    assert r.exit_code == 3  # a refusal, kept as an event that changes no state
    prefix = str(tmp_path / "auditor")
    assert demo_cli("audit", "keygen", "--out", prefix).exit_code == 0
    cp = tmp_path / "cp.json"
    r = demo_cli("audit", "checkpoint", "--sign", prefix + ".key", "--out", str(cp))
    assert r.exit_code == 0, r.output
    return demo_cli, cp, prefix + ".pub", prefix + ".key"


def test_keygen_keeps_the_private_key_private_and_never_overwrites(signed):
    kaigi, _, _pub, key = signed
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    r = kaigi("audit", "keygen", "--out", key.removesuffix(".key"))
    assert r.exit_code == 2 and "never overwritten" in r.stderr


def test_a_signed_checkpoint_verifies_and_the_log_may_grow(signed):
    kaigi, cp, pub, _ = signed
    statement = json.loads(cp.read_text())
    assert {"format", "log", "seq", "hash", "head_at", "taken_at", "key_id", "signature"} <= statement.keys()
    assert kaigi("--as", "yamamoto", "item", "file", "その後の案件").exit_code == 0
    r = kaigi("--json", "audit", "verify", "--checkpoint", str(cp), "--key", pub)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["checkpoint"]["ok"] is True


def test_an_erased_refusal_passes_plain_verify_but_not_the_checkpoint(signed, db_url):
    """The attack the issue measured: erase the `ActRefused` at the tail and move the head back."""
    from store import open_store

    kaigi, cp, pub, _ = signed
    store = open_store(db_url)
    last = raw(store, "SELECT seq, type FROM event ORDER BY seq DESC LIMIT 1")[0]
    assert last[1] == "ActRefused"
    drop_append_only(store)
    prev = raw(store, "SELECT hash, at FROM event WHERE seq = :s", s=last[0] - 1)[0]
    raw(store, "DELETE FROM event WHERE seq = :s", s=last[0])
    raw(store, "UPDATE log_head SET seq = :s, hash = :h, at = :at", s=last[0] - 1, h=prev[0], at=prev[1])
    assert verify(store).ok  # the chain alone cannot tell: nothing links forward
    r = kaigi("audit", "verify", "--checkpoint", str(cp), "--key", pub)
    assert r.exit_code == 7
    assert f"signed checkpoint {cp} vouches for event {last[0]}: its tail was removed" in r.stderr
    store.close()


def test_a_rewritten_tail_with_recomputed_hashes_is_caught(signed, db_url):
    from store import open_store

    kaigi, cp, pub, _ = signed
    store = open_store(db_url)
    drop_append_only(store)
    n = json.loads(cp.read_text())["seq"]
    rehash_from(store, n, change=lambda p: {**p, "reason": "nothing happened"})
    assert verify(store).ok  # a consistent forgery of a refusal's text: the chain and replay agree
    r = kaigi("audit", "verify", "--checkpoint", str(cp), "--key", pub)
    assert r.exit_code == 7 and f"event {n} differs from signed checkpoint {cp}" in r.stderr
    store.close()


def test_an_altered_checkpoint_fails_its_signature(signed):
    kaigi, cp, pub, _ = signed
    data = json.loads(cp.read_text())
    data["seq"] -= 1
    cp.write_text(json.dumps(data))
    r = kaigi("audit", "verify", "--checkpoint", str(cp), "--key", pub)
    assert r.exit_code == 7 and "does not verify" in r.stderr


def test_a_checkpoint_signed_by_another_key_is_refused(signed, tmp_path):
    kaigi, cp, _, _ = signed
    assert kaigi("audit", "keygen", "--out", str(tmp_path / "mallory")).exit_code == 0
    r = kaigi("audit", "verify", "--checkpoint", str(cp), "--key", str(tmp_path / "mallory.pub"))
    assert r.exit_code == 7 and "not by the key given" in r.stderr


def test_a_checkpoint_of_another_log_is_refused(signed, tmp_path):
    from click.testing import CliRunner

    from cli import cli

    _, _, pub, key = signed
    other = f"sqlite:///{tmp_path}/other.db"
    run = CliRunner()
    env = {"KAIGI_LANG": "en"}
    assert run.invoke(cli, ["--db", other, "init", "--demo"], env=env).exit_code == 0
    cp2 = tmp_path / "other.json"
    assert run.invoke(cli, ["--db", other, "audit", "checkpoint", "--sign", key, "--out", str(cp2)],
                      env=env).exit_code == 0
    kaigi = signed[0]
    r = kaigi("audit", "verify", "--checkpoint", str(cp2), "--key", pub)
    assert r.exit_code == 7 and "is of another log" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--checkpoint", "{cp}"], "is verified with --key PUBFILE"),
    (["--checkpoint", "{cp}", "--key", "/nonexistent.pub"], "is not there"),
    (["--checkpoint", "{key}", "--key", "{pub}"], "is not a kaigi signed checkpoint"),
    (["--checkpoint", "{cp}", "--key", "{key}"], "is not a readable public key"),
    (["--checkpoint", "12:abc"], "a checkpoint is SEQ:HASH"),
])
def test_bad_checkpoint_input_is_one_line_and_exit_2(signed, args, message):
    kaigi, cp, pub, key = signed
    r = kaigi("audit", "verify", *[a.format(cp=cp, pub=pub, key=key) for a in args])
    assert r.exit_code == 2, r.output
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "PRIVATE KEY" not in r.output


def test_an_encrypted_key_needs_its_passphrase(demo_cli, tmp_path):
    prefix = str(tmp_path / "locked")
    assert demo_cli("audit", "keygen", "--out", prefix, env={"KAIGI_KEY_PASSPHRASE": "s3cret"}).exit_code == 0
    assert b"ENCRYPTED" in Path(prefix + ".key").read_bytes()
    r = demo_cli("audit", "checkpoint", "--sign", prefix + ".key")
    assert r.exit_code == 2 and "KAIGI_KEY_PASSPHRASE" in r.stderr and "s3cret" not in r.output
    r = demo_cli("audit", "checkpoint", "--sign", prefix + ".key", env={"KAIGI_KEY_PASSPHRASE": "s3cret"})
    assert r.exit_code == 0 and json.loads(r.stdout)["signature"]


# ---------------------------------------------------------------- snapshots at signed checkpoints (issue 21)
@pytest.fixture
def snapped(demo_cli, tmp_path):
    """A signed checkpoint with a snapshot beside it, and the log grown after it."""
    prefix = str(tmp_path / "auditor")
    assert demo_cli("audit", "keygen", "--out", prefix).exit_code == 0
    cp = tmp_path / "cp.json"
    r = demo_cli("audit", "checkpoint", "--sign", prefix + ".key", "--out", str(cp), "--snapshot")
    assert r.exit_code == 0, r.output
    assert f"snapshot written to {cp}.snapshot" in r.stdout
    assert json.loads(cp.read_text())["snapshot"]
    assert demo_cli("--as", "yamamoto", "item", "file", "その後の案件").exit_code == 0
    return demo_cli, cp, prefix + ".pub", prefix + ".key"


def test_verify_since_a_signed_snapshot_replays_only_what_came_after(snapped):
    kaigi, cp, pub, _ = snapped
    n = json.loads(cp.read_text())["seq"]
    r = kaigi("--json", "audit", "verify", "--since", str(cp), "--key", pub)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["since"] == n and out["events"] == n + 1 and out["ok"] is True
    r = kaigi("audit", "verify", "--since", str(cp), "--key", pub)
    assert f"events up to {n} taken on trust from the signed snapshot of {cp}; only the 1 after it replayed" in r.stdout
    r = kaigi("audit", "verify", "--checkpoint", str(cp), "--key", pub)  # the full verify proves the snapshot
    assert r.exit_code == 0 and "1 signed snapshot(s) equal the state replayed up to them" in r.stdout


def test_a_tampered_snapshot_is_refused(snapped):
    import zlib

    kaigi, cp, pub, _ = snapped
    path = Path(f"{cp}.snapshot")
    data = zlib.decompress(path.read_bytes()).replace(b"\xe6\xa1\x88\xe4\xbb\xb6", b"\xe6\xa1\x88\xe5\x86\x85", 1)
    path.write_bytes(zlib.compress(data))
    r = kaigi("audit", "verify", "--since", str(cp), "--key", pub)
    assert r.exit_code == 7 and f"snapshot {path} is not the one checkpoint {cp} signs" in r.stderr
    path.write_bytes(b"garbage")
    r = kaigi("audit", "verify", "--since", str(cp), "--key", pub)
    assert r.exit_code == 7 and "is not the one checkpoint" in r.stderr


def test_a_snapshot_of_another_checkpoint_is_refused(snapped, tmp_path):
    kaigi, cp, pub, key = snapped
    later = tmp_path / "later.json"
    assert kaigi("audit", "checkpoint", "--sign", key, "--out", str(later), "--snapshot").exit_code == 0
    Path(f"{cp}.snapshot").write_bytes(Path(f"{later}.snapshot").read_bytes())  # a true snapshot, another event
    r = kaigi("audit", "verify", "--since", str(cp), "--key", pub)
    assert r.exit_code == 7 and "is not the one checkpoint" in r.stderr


def test_a_forged_statement_about_the_snapshot_fails_its_signature(snapped):
    kaigi, cp, pub, _ = snapped
    data = json.loads(cp.read_text())
    data["snapshot"] = "0" * 64
    cp.write_text(json.dumps(data))
    r = kaigi("audit", "verify", "--since", str(cp), "--key", pub)
    assert r.exit_code == 7 and "does not verify" in r.stderr


def test_since_needs_a_snapshot_and_a_key(signed, tmp_path):
    kaigi, cp, pub, key = signed  # signed without --snapshot
    r = kaigi("audit", "verify", "--since", str(cp), "--key", pub)
    assert r.exit_code == 2 and f"checkpoint {cp} signs no snapshot" in r.stderr
    r = kaigi("audit", "verify", "--since", str(cp))
    assert r.exit_code == 2 and "--key PUBFILE" in r.stderr
    r = kaigi("audit", "checkpoint", "--sign", key, "--snapshot")
    assert r.exit_code == 2 and "--snapshot writes a file beside the checkpoint" in r.stderr
    other = tmp_path / "other.json"
    assert kaigi("audit", "checkpoint", "--sign", key, "--out", str(other), "--snapshot").exit_code == 0
    Path(f"{other}.snapshot").unlink()
    r = kaigi("audit", "verify", "--since", str(other), "--key", pub)
    assert r.exit_code == 2 and "snapshot file" in r.stderr and "is not there" in r.stderr


def test_a_full_verify_with_kept_snapshots_replays_its_segments_side_by_side(snapped, tmp_path):
    kaigi, cp, pub, key = snapped
    later = tmp_path / "later.json"
    assert kaigi("audit", "checkpoint", "--sign", key, "--out", str(later), "--snapshot").exit_code == 0
    assert kaigi("--as", "yamamoto", "item", "file", "もう一件").exit_code == 0
    r = kaigi("audit", "verify", "--checkpoint", str(cp), "--checkpoint", str(later), "--key", pub, "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert "2 signed snapshot(s) equal" in r.stdout and "3 segments between the snapshots, 2 processes" in r.stdout
    one = json.loads(kaigi("--json", "audit", "verify", "--checkpoint", str(cp), "--checkpoint", str(later),
                           "--key", pub, "--jobs", "1").stdout)
    both = json.loads(kaigi("--json", "audit", "verify", "--checkpoint", str(cp), "--checkpoint", str(later),
                            "--key", pub).stdout)
    assert (one["segments"], both["segments"]) == (0, 3)
    assert {k: v for k, v in one.items() if k != "segments"} == {k: v for k, v in both.items() if k != "segments"}
    assert kaigi("audit", "verify", "--jobs", "0").exit_code == 2


def test_a_signed_snapshot_that_is_not_the_replay_fails_the_segmented_verify_naming_it(snapped):
    """The auditor's key signs a snapshot of a state the log never replays to (an item's title
    changed in it): the segment before it ends elsewhere, and the verify names the event and file."""
    import dataclasses
    import zlib

    from engine.app.checkpoints import load_private, pack, sign
    from engine.core import snapshot as snap

    kaigi, cp, pub, key = snapped
    statement = json.loads(cp.read_text())
    (k, digest, at, ver), r = snap.restore(zlib.decompress(Path(f"{cp}.snapshot").read_bytes()))
    first = next(iter(r.world.items))
    r.world.items[first] = dataclasses.replace(r.world.items[first], title="改ざん")
    forged = snap.encode(r, k, digest, at, ver)
    Path(f"{cp}.snapshot").write_bytes(pack(forged))
    import datetime as dt

    signed = sign(statement["log"], k, digest, dt.datetime.fromisoformat(statement["head_at"]),
                  dt.datetime.fromisoformat(statement["taken_at"]), load_private(key), snap.digest_of(forged))
    cp.write_text(json.dumps(signed))
    r = kaigi("--json", "audit", "verify", "--checkpoint", str(cp), "--key", pub, "--jobs", "2")
    assert r.exit_code == 7
    out = json.loads(r.stdout)
    assert out["segments"] == 2 and out["first_bad_seq"] == k and str(cp) in out["problem"]


def test_a_snapshot_file_with_bytes_after_its_stream_is_not_read(tmp_path):
    """`read_snapshot` decompresses a kept snapshot twice (its size and hash first, then into
    one buffer of that size): a file that is one compressed snapshot followed by anything
    else is refused, as `snapshot_intact` refuses it, before any of it is used."""
    import hashlib
    import zlib

    from engine.app.checkpoints import Checkpoint, read_snapshot, snapshot_file
    from engine.core.errors import IntegrityFailure

    data = b"kaigi-snapshot" * 1000
    cp_file = str(tmp_path / "cp")
    sha = hashlib.sha256(data).hexdigest()
    cp = Checkpoint("log", 1, "h" * 64, None, "", "k", sha)
    with open(snapshot_file(cp_file), "wb") as fh:
        fh.write(zlib.compress(data, 6))
    assert read_snapshot(cp_file, cp) == data
    with open(snapshot_file(cp_file), "ab") as fh:
        fh.write(b"more")
    with pytest.raises(IntegrityFailure):
        read_snapshot(cp_file, cp)
