"""Settings are read in one place: engine/infra/settings.py. The faces (cli.py, web/) and
engine/app ask its `Settings` / `Environment`, never os.environ, for a KAIGI_* variable: a
variable read anywhere else escapes the settings file, the precedence and the one-line errors."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "cli.py", *sorted((ROOT / "web").rglob("*.py")), *sorted((ROOT / "engine" / "app").rglob("*.py"))]
# os.environ["KAIGI_X"], os.environ.get("KAIGI_X"), getenv("KAIGI_X"), environ.get(...) of a KAIGI_ name,
# and a bare os.environ handed on (a loop or mapping read elsewhere would hide the name).
READ = re.compile(r"""(?:environ\s*(?:\.get\s*\(|\[)|getenv\s*\()\s*f?["']KAIGI_|os\.environ\b(?!\s*\.get\s*\(\s*["'](?!KAIGI_))""")
ALLOWED = {
    # the test suite's hooks into a subprocess (KAIGI_TEST_*): no setting a person makes, a no-op when unset
    ROOT / "engine" / "app" / "testhooks.py",
}


def test_no_kaigi_variable_is_read_outside_the_settings_module() -> None:
    found = []
    for path in SCANNED:
        if path in ALLOWED:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if READ.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "read the Settings object (engine.infra.settings) instead:\n" + "\n".join(found)


def test_the_allowed_files_still_need_their_exception() -> None:
    """An allowlisted file that no longer reads the environment leaves the list."""
    for path in ALLOWED:
        assert READ.search(path.read_text(encoding="utf-8")), f"{path.relative_to(ROOT)} no longer needs allowing"


def test_the_pattern_sees_the_usual_spellings() -> None:
    for line in ('os.environ.get("KAIGI_LANG")', "os.environ['KAIGI_AS']", 'os.getenv("KAIGI_SECRET")',
                 "load_settings(os.environ, cwd=x)", "{k: os.environ.get(v) for k, v in ENV.items()}"):
        assert READ.search(line), line
    assert not READ.search('os.environ.get("HOME")')
