"""docs/writing-a-rulebook.md runs as written (issue 19): its example book, saved as the guide
says, starts a training database with `init --rulebook … --training --chief`, and every
command of its "set up the bodies" and "file and advance items" blocks exits 0, in order."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "writing-a-rulebook.md"
pytestmark = pytest.mark.slow


def sh_blocks() -> list[list[str]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [[line for line in b.splitlines() if line.strip()] for b in re.findall(r"```sh\n(.*?)```", text, re.S)]


def test_the_guides_commands_run_on_its_example_book(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    (tmp_path / "example-city.toml").write_text(re.findall(r"```toml\n(.*?)```", text, re.S)[-1], encoding="utf-8")
    blocks = sh_blocks()
    training = next(b for b in blocks if any("--training" in line for line in b))
    setup = next(b for b in blocks if any(line.startswith("kaigi --as") and "body add" in line for line in b))
    items = next(b for b in blocks if any("item file" in line for line in b))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    env.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", "KAIGI_LANG": "en"})
    script = []
    for n, line in enumerate([*training, *setup, *items], start=1):
        script.append(f"{line}\nrc=$?; if [ $rc -ne 0 ]; then echo \"line {n} exited $rc\" >&2; exit 99; fi")
    r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
    assert "ward_filed" not in r.stderr and (tmp_path / "items.xlsx").exists()
    show = subprocess.run(["kaigi", "--db", "sqlite:///city-training.db", "--json", "--as", "suzuki", "item", "show", "2"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert show.returncode == 0 and '"state": "ward_filed"' in show.stdout, show.stdout + show.stderr
