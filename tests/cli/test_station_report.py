"""A station's report carries its council's result as a document (issue 11, R-P2, R-P3):
the file is kept under its sha256, the event names the hash, verify checks the content."""

import json

from tests.conftest import raw


def test_a_station_report_carries_its_result_document(demo_cli, tmp_path, db_url):
    from store import open_store

    result = tmp_path / "水戸署対策会議結果.pdf"
    result.write_bytes(b"%PDF-1.4 station council result \x00\x01")
    k = demo_cli
    assert k("--as", "matsumoto", "item", "file", "実態把握の結果", "--station", "mito").exit_code == 0
    assert k("--as", "matsumoto", "meeting", "convene", "station_council", "--at", "now", "--item", "5").exit_code == 0
    assert k("--as", "matsumoto", "meeting", "hold", "1").exit_code == 0
    r = k("--json", "--as", "matsumoto", "item", "advance", "5", "report", "--meeting", "1", "--document", str(result))
    assert r.exit_code == 0, r.output
    import hashlib

    digest = hashlib.sha256(result.read_bytes()).hexdigest()
    log = [json.loads(x) for x in k("audit", "export").stdout.splitlines()]
    reported = [e for e in log if e.get("type") == "ItemAdvanced" and e["payload"].get("trigger") == "report"]
    assert reported and reported[0]["payload"]["document"] == digest
    assert k("audit", "verify").exit_code == 0
    store = open_store(db_url)
    if store.pg:  # PostgreSQL refuses a document whose content is not its hash, even the owner's edit
        import pytest

        with pytest.raises(Exception, match="sha256 of its content"):
            raw(store, "UPDATE document SET content = :c", c=b"%PDF-1.4 another result")
    else:  # on SQLite the file's owner can; verify then names it
        raw(store, "UPDATE document SET content = :c", c=b"%PDF-1.4 another result")
        v = k("--json", "audit", "verify")
        assert v.exit_code == 7 and "document" in json.loads(v.stdout)["problem"]
    store.close()


def test_a_document_goes_only_with_a_step_in_a_meeting(demo_cli, tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("x")
    r = demo_cli("--as", "yamamoto", "item", "advance", "1", "skip", "--document", str(f))
    assert r.exit_code == 2 and "a document goes with a step taken in a meeting" in r.stderr
