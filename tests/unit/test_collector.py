"""The collector is held off for a long pass over the log and always comes back on."""

import gc

import pytest

from engine.infra.collector import held_off


def test_the_collector_is_off_during_the_pass_and_on_after():
    assert gc.isenabled()
    with held_off():
        assert not gc.isenabled()
        with held_off():  # a nested pass (verify inside an import) leaves it to the outer one
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_pass_fails():
    with pytest.raises(RuntimeError):
        with held_off():
            raise RuntimeError("a bad event")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    try:
        with held_off():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_verify_leaves_the_collector_on(tmp_path):
    from engine.app import bootstrap
    from engine.app.audit import verify
    from engine.app.kaigi import Kaigi
    from store import open_store

    url = f"sqlite:///{tmp_path / 'k.db'}"
    bootstrap.upgrade(url)
    k = Kaigi(open_store(url))
    bootstrap.init(k, demo=True)
    assert verify(k.store).ok
    assert gc.isenabled()
