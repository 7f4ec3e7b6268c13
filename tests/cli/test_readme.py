"""The README runs as written (issue 20): on a fresh clone the reader types its first line,
`make demo` (a training ./kaigi.db and demo/walk.sh), then every command block after it, in
order, in the same folder and the same shell; each line exits 0, or the code its comment
announces (`# exit 3: …`). Blocks fenced as ```text (a diagram) are not commands.
The README says how `kaigi` gets on PATH, and neither it nor docs/ points outside the
repository."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# `kaigi serve` serves until stopped (tests/web covers it); the activate line is what
# reader_env() stands for: the test's python is the environment's
SKIP = ("kaigi serve", ". .venv/bin/activate")
TOP = "make demo\nmake test\n"


def fenced(text: str) -> list[tuple[str, str]]:
    """Every fenced block of a Markdown text: (its language tag, its body)."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)


def command_blocks(text: str) -> list[list[str]]:
    """The blocks after the top one that are commands, each as its lines (comments and blank
    lines left out)."""
    blocks = fenced(text)
    return [[line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
            for lang, body in blocks[1:] if lang != "text"]


def expected(line: str) -> int:
    m = re.search(r"#\s*exit (\d+):", line)
    return int(m.group(1)) if m else 0


def script(blocks: list[list[str]]) -> str:
    """One bash session for the whole README, as one reader's shell: what a line exports
    carries to the next; after each line its exit code is checked against its comment."""
    out = []
    for b, lines in enumerate(blocks, start=1):
        for n, line in enumerate(lines, start=1):
            if line.startswith(SKIP):
                continue
            where = f"block {b} line {n}"
            out.append(f"{line}\nrc=$?; if [ $rc -ne {expected(line)} ]; then "
                       f"echo \"README {where} exited $rc, not {expected(line)}: \"{_quote(line)} >&2; exit 99; fi")
    return "\n".join(out) + "\n"


def _quote(line: str) -> str:
    return "'" + line.replace("'", "'\\''") + "'"


def reader_env() -> dict[str, str]:
    """A shell after `. .venv/bin/activate`: this test's python's bin (where the venv's
    `kaigi` is) first on PATH, no KAIGI_ settings of the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    env.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", "KAIGI_LANG": "en"})
    return env


def run(args: list[str], folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def test_the_readme_runs_as_written_after_make_demo(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    blocks = command_blocks(text)
    assert len(blocks) >= 6
    env = reader_env()
    # what `make demo` does once the virtual environment is there (see Makefile)
    r = run(["kaigi", "--db", "sqlite:///kaigi.db", "init", "--demo"], tmp_path, env)
    assert r.returncode == 0, r.stderr
    r = run(["bash", str(ROOT / "demo" / "walk.sh")], tmp_path, {**env, "KAIGI_DB": "sqlite:///kaigi.db"})
    assert r.returncode == 0, r.stdout[-1500:] + r.stderr[-1500:]

    r = run(["bash", "-c", script(blocks)], tmp_path, env)
    assert r.returncode == 0, f"{r.stderr[-2500:]}\n{r.stdout[-1500:]}"

    # the real-database block kept to a file of its own: the demo's database is still the demo's
    shown = run(["kaigi", "--json", "--as", "sato", "item", "show", "1"], tmp_path, env)
    assert shown.returncode == 0 and '"closed"' in shown.stdout, shown.stderr
    assert (tmp_path / "copy.db").exists()
    # and its `--as` refusal wrote nothing there
    listed = run(["kaigi", "--db", "sqlite:///real.db", "--json", "item", "list"], tmp_path, env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr


def test_the_readme_says_how_kaigi_gets_on_path() -> None:
    """Right after the two-line block: activate the virtual environment `make` made."""
    text = README.read_text(encoding="utf-8")
    lang, top = fenced(text)[0]
    assert (lang, top) == ("", TOP)
    after = text.split("```\n" + TOP + "```", 1)[1].split("\n## ", 1)[0]
    assert ". .venv/bin/activate" in after
    assert "pipx" in after and "make " in after


OUTSIDE = ("../shared", "/work/", "shared/design", "RULES.md", "CLI.md", "WEB.md", "ARCHITECTURE.md")


@pytest.mark.parametrize("doc", [README, *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_no_document_points_outside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for word in OUTSIDE:
        assert word not in text, f"{doc.name} names {word}"
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path = (doc.parent / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name} links {target}"


@pytest.mark.parametrize("line, code", [("kaigi x  # exit 3: refused", 3), ("kaigi y  # fine", 0)])
def test_expected_codes_are_read_from_the_comment(line: str, code: int) -> None:
    assert expected(line) == code


def test_a_text_block_is_not_run() -> None:
    text = "```\nmake demo\nmake test\n```\n```sh\nkaigi a\n# note\n```\n```text\nface ──> x\n```\n```\nkaigi b\n```\n"
    assert command_blocks(text) == [["kaigi a"], ["kaigi b"]]
