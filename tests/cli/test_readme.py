"""The README's examples run as written (issue 11): every command of its "Using it" blocks,
in order, in a fresh folder as a new user would type them (the real-database block in a
folder of its own); each exits 0, or the code its comment announces (`# exit 3: …`)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = ("kaigi serve",)  # it serves until stopped; tests/web covers it


def blocks() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    return [[line for line in b.splitlines() if line.strip()] for b in re.findall(r"```\n(.*?)```", part, re.S)]


def expected(line: str) -> int:
    m = re.search(r"#\s*exit (\d+):", line)
    return int(m.group(1)) if m else 0


def run_block(lines: list[str], folder: Path, env: dict[str, str]) -> None:
    """One bash script per block (its variables carry from line to line), each line's exit
    code checked against what its comment announces."""
    script = []
    for n, line in enumerate(lines, start=1):
        if line.startswith(SKIP):
            continue
        script.append(f"{line}\nrc=$?; if [ $rc -ne {expected(line)} ]; then echo \"line {n} exited $rc\" >&2; exit 99; fi")
    r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=folder, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"{lines}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"


def test_the_readme_examples_run_as_written(tmp_path: Path) -> None:
    assert len(blocks()) >= 5
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    env.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", "KAIGI_LANG": "en"})
    demo = tmp_path / "demo"
    demo.mkdir()
    for block in blocks():
        if block[0].startswith("kaigi init --chief"):
            real = tmp_path / "real"
            real.mkdir()
            run_block(block, real, env)
        else:
            run_block(block, demo, env)
    assert (demo / "kaigi.db").exists() and (demo / "copy.db").exists()


@pytest.mark.parametrize("line, code", [("kaigi x  # exit 3: refused", 3), ("kaigi y  # fine", 0)])
def test_expected_codes_are_read_from_the_comment(line: str, code: int) -> None:
    assert expected(line) == code
