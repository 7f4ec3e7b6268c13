"""Start-up time of the `kaigi` console script, beside a bare interpreter, and what each run imports.

    .venv/bin/python bench/startup.py [--runs 21] [--bytecode cached|env]

Timed (wall, subprocess, interleaved, median of --runs each):
  python -c pass                                   (the venv's interpreter)
  python -c "import sqlmodel"                      (the ORM the stack names: what a command importing it pays)
  kaigi --help                                     (.venv/bin/kaigi, the installed console script)
  kaigi --db sqlite:///<tmp>/kaigi.db --as yamamoto item show 1   (after `init --demo`, untimed)

Then each kaigi command runs once more under a wrapper that records `sys.modules` at exit,
and once under `-X importtime`, to list the heavy packages it loads and their import cost.
Bytecode: by default the runs may write .pyc files, into a throw-away PYTHONPYCACHEPREFIX
(nothing lands in the repository), so every module loads from bytecode as in a normal
install. `--bytecode env` keeps the caller's environment as is: with PYTHONDONTWRITEBYTECODE=1
the editable project's own modules (cli, engine, store, workflows) compile from source on
every start. Two figures: item show / import sqlmodel (aim: at most 1.0), --help / pass (aim:
at most 3). The last line is `ratio: X` = median(kaigi item show 1) / median(import sqlmodel).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PY = str(BIN / "python")
KAIGI = str(BIN / "kaigi")

HEAVY = ["sqlalchemy", "sqlmodel", "pydantic", "pydantic_core", "alembic", "mako", "transitions",
         "apscheduler", "tzlocal", "structlog", "rich", "pygments", "click", "jpholiday", "psycopg",
         "smtplib", "ssl", "email", "asyncio", "typing_extensions", "annotated_types"]

# Runs `cli.main` as the console script does, and writes the loaded module names when it exits.
WRAPPER = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["kaigi", *sys.argv[2:]]
from cli import main
main()
"""


def run(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode()}")
    return wall


def modules_of(args: list[str], env: dict[str, str], cwd: str, tmp: str) -> set[str]:
    out = os.path.join(tmp, "modules.json")
    subprocess.run([PY, "-c", WRAPPER, out, *args], env=env, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return set(json.loads(Path(out).read_text()))


def import_self_times(args: list[str], env: dict[str, str], cwd: str, tmp: str) -> dict[str, float]:
    """Per top-level package: the sum of `-X importtime` self times, in ms."""
    out = os.path.join(tmp, "unused.json")
    p = subprocess.run([PY, "-X", "importtime", "-c", WRAPPER, out, *args], env=env, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    per: dict[str, float] = defaultdict(float)
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cum, name = line[len("import time:"):].split("|", 2)
        per[name.strip().split(".")[0]] += int(self_us) / 1000
    return dict(per)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=21, help="runs of each command, interleaved (default 21)")
    ap.add_argument("--bytecode", choices=["cached", "env"], default="cached",
                    help="cached: .pyc files in a temp PYTHONPYCACHEPREFIX (default); env: the environment as is")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="kaigi-startup-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
        if args.bytecode == "cached":
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        db = f"sqlite:///{tmp}/kaigi.db"
        show = ["--db", db, "--as", "yamamoto", "item", "show", "1"]
        run([KAIGI, "--db", db, "init", "--demo"], env, tmp)  # untimed

        cases = {
            "python -c pass": [PY, "-c", "pass"],
            "import sqlmodel": [PY, "-c", "import sqlmodel"],
            "kaigi --help": [KAIGI, "--help"],
            "kaigi item show 1": [KAIGI, *show],
        }
        for cmd in cases.values():  # warm the page cache and .pyc files
            run(cmd, env, tmp)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                times[name].append(run(cmd, env, tmp))
        med = {k: statistics.median(v) for k, v in times.items()}

        print(f"python {platform.python_version()} at {PY}; {os.cpu_count()} CPUs; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"bytecode: {args.bytecode} (PYTHONDONTWRITEBYTECODE={env.get('PYTHONDONTWRITEBYTECODE', 'unset')}, "
              f"PYTHONPYCACHEPREFIX={env.get('PYTHONPYCACHEPREFIX', 'unset')})")
        print(f"{args.runs} interleaved runs each, wall time of the subprocess:")
        print(f"  {'command':22s} {'median ms':>10s} {'min ms':>8s} {'max ms':>8s} {'x bare':>7s}")
        for name, vals in times.items():
            print(f"  {name:22s} {1000 * med[name]:10.1f} {1000 * min(vals):8.1f} {1000 * max(vals):8.1f} "
                  f"{med[name] / med['python -c pass']:7.2f}")
        print(f"  (item show: {' '.join(cases['kaigi item show 1'])})")

        bare = set(json.loads(subprocess.run(
            [PY, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"], env=env, cwd=tmp,
            capture_output=True, text=True, check=True).stdout))
        print()
        print("modules loaded (count beyond a bare interpreter) and heavy packages present:")
        for label, cargs in (("kaigi --help", ["--help"]), ("kaigi item show 1", show)):
            mods = modules_of(cargs, env, tmp, tmp)
            cost = import_self_times(cargs, env, tmp, tmp)
            heavy = [h for h in HEAVY if h in mods]
            total = sum(cost.values())
            print(f"  {label}: {len(mods - bare)} modules, imports took {total:.0f} ms (sum of -X importtime self)")
            print(f"    heavy: {', '.join(heavy) or 'none'}")
            absent = [h for h in ("sqlalchemy", "sqlmodel", "pydantic", "alembic", "transitions", "apscheduler",
                                  "structlog", "rich", "psycopg") if h not in mods]
            print(f"    absent: {', '.join(absent) or 'none'}")
            top = sorted(cost.items(), key=lambda kv: -kv[1])[:14]
            print("    import ms by top-level package: " + ", ".join(f"{k} {v:.1f}" for k, v in top))
            ours = sorted(m for m in mods if m.split(".")[0] in ("cli", "engine", "store", "workflows"))
            print(f"    kaigi modules: {', '.join(ours)}")
        print(f"kaigi --help / python -c pass = {med['kaigi --help'] / med['python -c pass']:.2f} (aim: at most 3)")
        show_ratio = med["kaigi item show 1"] / med["import sqlmodel"]
        print(f"kaigi item show 1 / import sqlmodel = {show_ratio:.2f} (aim: at most 1.0)")
        print(f"ratio: {show_ratio:.2f}")


if __name__ == "__main__":
    main()
