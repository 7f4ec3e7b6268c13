"""Signed checkpoints: the log's head, signed by an auditor's key and kept outside the
database, in the spirit of Certificate Transparency's signed tree heads (TRUST.md).

Whoever holds a checkpoint can later prove the log still holds exactly that prefix: the
statement names the log, a sequence number, the chain hash there, the time it was taken
and the key; an Ed25519 signature covers its canonical JSON. The database's owner can
rewrite the log and recompute every hash, but cannot sign with the auditor's key, so a
checkpoint taken before a rewrite exposes it.
"""

import base64
import datetime as dt
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import orjson

from engine.core.errors import BadInput, IntegrityFailure
from engine.i18n import Msg

FORMAT = "kaigi-checkpoint/1"
MAX_FILE = 64 * 1024


@dataclass(frozen=True)
class Checkpoint:
    log: str
    seq: int
    hash: str
    head_at: str | None
    taken_at: str
    key_id: str
    snapshot: str | None = None  # the sha256 of the state at `seq` (engine.core.snapshot), if one was kept

    def statement(self) -> dict[str, Any]:
        out = {"format": FORMAT, "log": self.log, "seq": self.seq, "hash": self.hash, "head_at": self.head_at,
               "taken_at": self.taken_at, "key_id": self.key_id}
        if self.snapshot is not None:  # a checkpoint without one signs what it always signed
            out["snapshot"] = self.snapshot
        return out


def _canonical(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def key_id(public_key: Any) -> str:
    """A short name for a public key: the start of the sha256 of its raw 32 bytes."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _passphrase() -> bytes | None:
    from engine.infra.settings import environment

    text = environment().key_passphrase
    return text.encode() if text else None


def keygen(prefix: str) -> tuple[Path, Path, str]:
    """PREFIX.key (private, PEM, mode 0600, encrypted if KAIGI_KEY_PASSPHRASE is set) and
    PREFIX.pub; refuses to overwrite either."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    priv_path, pub_path = Path(prefix + ".key"), Path(prefix + ".pub")
    for p in (priv_path, pub_path):
        if p.exists() or p.is_symlink():
            raise BadInput("checkpoint.key_exists", file=str(p))
    key = Ed25519PrivateKey.generate()
    secret = _passphrase()
    enc = (serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        for path, data, mode in ((priv_path, pem, 0o600), (pub_path, pub, 0o644)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except OSError as err:
        raise BadInput("checkpoint.cannot_write", file=str(priv_path), reason=err.strerror or str(err)) from None
    return priv_path, pub_path, key_id(key.public_key())


def _read(path: str, what: str) -> bytes:
    p = Path(path)
    try:
        if not p.is_file():
            raise BadInput("checkpoint.not_a_file", what=Msg(f"checkpoint.what.{what}"), file=path)
        with p.open("rb") as fh:
            data = fh.read(MAX_FILE + 1)
    except OSError as err:
        raise BadInput("checkpoint.cannot_read", what=Msg(f"checkpoint.what.{what}"), file=path,
                       reason=err.strerror or str(err)) from None
    if len(data) > MAX_FILE:
        raise BadInput("checkpoint.too_big", what=Msg(f"checkpoint.what.{what}"), file=path)
    return data


def load_private(path: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read(path, "private")
    try:
        key = serialization.load_pem_private_key(data, password=_passphrase())
    except (ValueError, TypeError):
        raise BadInput("checkpoint.bad_private", file=path) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput("checkpoint.not_ed25519", file=path)
    return key


def load_public(path: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read(path, "public")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise BadInput("checkpoint.bad_public", file=path) from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput("checkpoint.not_ed25519", file=path)
    return key


def sign(log: str, seq: int, digest: str, head_at: dt.datetime | None, taken_at: dt.datetime,
         private_key: Any, snapshot: str | None = None) -> dict[str, Any]:
    """The signed statement, as written to the checkpoint file; `snapshot` the sha256 of the
    state at `seq` it vouches for."""
    cp = Checkpoint(log, seq, digest, head_at.isoformat() if head_at else None, taken_at.isoformat(),
                    key_id(private_key.public_key()), snapshot)
    body = cp.statement()
    body["signature"] = base64.b64encode(private_key.sign(_canonical(cp.statement()))).decode()
    return body


def read_signed(path: str, public_key: Any) -> Checkpoint:
    """Parse a checkpoint file and check its signature with `public_key`; an integrity
    failure (exit 7) names the file if it was not signed by that key or was altered."""
    from cryptography.exceptions import InvalidSignature

    try:
        data = orjson.loads(_read(path, "checkpoint"))
        cp = Checkpoint(str(data["log"]), int(data["seq"]), str(data["hash"]), data.get("head_at"),
                        str(data["taken_at"]), str(data["key_id"]),
                        None if data.get("snapshot") is None else str(data["snapshot"]))
        sig = base64.b64decode(str(data["signature"]), validate=True)
        if data.get("format") != FORMAT or cp.seq < 0 or len(cp.hash) != 64 or not _hex64(cp.snapshot or "0" * 64):
            raise ValueError
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError, AttributeError):
        raise BadInput("checkpoint.bad_file", file=path) from None
    if cp.key_id != key_id(public_key):
        raise IntegrityFailure("checkpoint.other_key", file=path, key=cp.key_id, given=key_id(public_key))
    try:
        public_key.verify(sig, _canonical(cp.statement()))
    except InvalidSignature:
        raise IntegrityFailure("checkpoint.bad_signature", file=path, key=cp.key_id) from None
    return cp


def _hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


# ---------------------------------------------------------------- snapshots beside a checkpoint
SNAPSHOT_SUFFIX = ".snapshot"


def snapshot_file(checkpoint_file: str) -> str:
    """Where a checkpoint's snapshot is kept: beside it, the same name and `.snapshot`."""
    return checkpoint_file + SNAPSHOT_SUFFIX


def pack(data: bytes) -> bytes:
    """The file's bytes: the canonical snapshot, compressed (its hash is of the canonical bytes)."""
    return zlib.compress(data, 6)


def read_snapshot(checkpoint_file: str, cp: Checkpoint) -> bytes:
    """The canonical snapshot bytes kept beside `checkpoint_file`, once their sha256 is the one
    `cp` signs. A checkpoint that signs none is bad input (exit 2); a missing file too; a file
    whose bytes were changed or that is another snapshot fails integrity (exit 7)."""
    path, packed, size = _checked(checkpoint_file, cp)
    try:
        # decompressed once more into one buffer of the size now known: decompressing into
        # a growing buffer took twice the snapshot's size at its peak (266 MiB for 118)
        return zlib.decompress(packed, bufsize=max(size, 1))
    except zlib.error:
        raise IntegrityFailure("snapshot.not_signed", file=path, checkpoint=checkpoint_file) from None


def snapshot_pieces(checkpoint_file: str, cp: Checkpoint) -> Iterator[bytes]:
    """`read_snapshot`'s bytes in pieces of at most 4 MiB, none kept (a split verify's worker
    restores from them with `snapshot.restore_pieces`, which hashes them again): the same
    checks first, before any piece is given."""
    _, packed, _ = _checked(checkpoint_file, cp)

    def pieces(packed: bytes = packed) -> Iterator[bytes]:
        unpack = zlib.decompressobj()
        view = memoryview(packed)
        for at in range(0, len(view), 1 << 20):
            piece: Any = view[at:at + (1 << 20)]
            while piece:
                yield unpack.decompress(piece, 1 << 22)
                piece = unpack.unconsumed_tail
        yield unpack.flush()

    return pieces()


def _checked(checkpoint_file: str, cp: Checkpoint) -> tuple[str, bytes, int]:
    """The kept file's path, its compressed bytes and the canonical size, once they hash to
    what `cp` signs (each failure as `read_snapshot` names it)."""
    path = snapshot_file(checkpoint_file)
    if cp.snapshot is None:
        raise BadInput("snapshot.none_signed", file=checkpoint_file)
    p = Path(path)
    try:
        if not p.is_file():
            raise BadInput("checkpoint.not_a_file", what=Msg("checkpoint.what.snapshot"), file=path)
        packed = p.read_bytes()
    except OSError as err:
        raise BadInput("checkpoint.cannot_read", what=Msg("checkpoint.what.snapshot"), file=path,
                       reason=err.strerror or str(err)) from None
    try:
        size, digest = _unpacked(packed)
    except zlib.error:
        raise IntegrityFailure("snapshot.not_signed", file=path, checkpoint=checkpoint_file) from None
    if digest != cp.snapshot:
        raise IntegrityFailure("snapshot.not_signed", file=path, checkpoint=checkpoint_file)
    return path, packed, size


def _unpacked(packed: bytes) -> tuple[int, str]:
    """The size and sha256 of what `packed` decompresses to, a piece at a time (none of it held)."""
    digest, unpack, size = hashlib.sha256(), zlib.decompressobj(), 0
    view = memoryview(packed)
    for at in range(0, len(view), 1 << 20):
        piece: Any = view[at:at + (1 << 20)]
        while piece:
            out = unpack.decompress(piece, 1 << 22)
            digest.update(out)
            size += len(out)
            piece = unpack.unconsumed_tail
    out = unpack.flush()
    digest.update(out)
    size += len(out)
    if not unpack.eof or unpack.unused_data:
        raise zlib.error("not one whole stream")
    return size, digest.hexdigest()


def snapshot_intact(checkpoint_file: str, sha: str) -> bool:
    """Whether the snapshot beside `checkpoint_file` is there and its canonical bytes hash to
    `sha`: read, decompressed and hashed a piece at a time (a full verify choosing where to
    split the log holds none of it; engine.app.segments)."""
    digest, unpack = hashlib.sha256(), zlib.decompressobj()
    try:
        with open(snapshot_file(checkpoint_file), "rb") as fh:
            while piece := fh.read(1 << 20):
                while piece:
                    digest.update(unpack.decompress(piece, 1 << 22))
                    piece = unpack.unconsumed_tail
            digest.update(unpack.flush())
    except (OSError, zlib.error):
        return False
    return unpack.eof and not unpack.unused_data and digest.hexdigest() == sha
