"""The tests that set passwords hash them at a low argon2 cost (`cheap_hashes` in
tests/web/conftest.py, tests/redteam): they check behaviour, not cost. The application itself
hashes at argon2-cffi's full default cost, argon2id (RFC 9106's low-memory profile)."""

import pytest
from argon2 import Type, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from engine.infra import passwords


def test_the_application_hashes_at_the_full_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_HASHER", None)  # as a process starts: no test's cheap hasher
    stored = passwords.hash_password("a long passphrase")
    used = extract_parameters(stored)
    assert used.type is Type.ID
    assert (used.time_cost, used.memory_cost, used.parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost, RFC_9106_LOW_MEMORY.parallelism)
    assert RFC_9106_LOW_MEMORY.memory_cost >= 64 * 1024  # 64 MiB: not a test's 1 MiB
    assert passwords.verify_password(stored, "a long passphrase")
    assert not passwords.verify_password(stored, "another passphrase")
