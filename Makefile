# Fresh machine: `make demo` (set up, run the demo on SQLite) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint setup clean browser

$(BIN)/kaigi: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "kaigi needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

setup: $(BIN)/kaigi

# The demo rebuilds ./kaigi.db from nothing, then walks item 1 from filed to closed.
demo: setup
	rm -f kaigi.db kaigi.db-wal kaigi.db-shm
	$(BIN)/kaigi --db sqlite:///kaigi.db init --demo
	PATH="$(CURDIR)/$(BIN):$$PATH" KAIGI_DB=sqlite:///kaigi.db bash demo/walk.sh

# The browser tests use Debian's headless Chromium (chromium-headless-shell: ~30 % less CPU than
# the full browser's headless mode for the same pages) and CJK fonts; the papers' tests read PDFs back with
# poppler's pdftotext/pdftoppm and zbar's QR decoder; the OpenID Connect test runs panva's
# oidc-provider on node (npm installs it): installed here when we may (root), else those
# tests are skipped with the reason.
DEBS = chromium-headless-shell fonts-noto-cjk poppler-utils zbar-tools
# node and npm from Debian only where there is no node (a NodeSource node conflicts with Debian's npm)
NODE_DEBS = $(if $(shell command -v node),,nodejs npm)
browser:
	@if command -v chromium-headless-shell >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 && command -v zbarimg >/dev/null 2>&1 \
	    && command -v npm >/dev/null 2>&1 \
	    && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBS) $(NODE_DEBS) >/dev/null; \
	else echo "note: no headless Chromium, poppler/zbar or npm (apt-get install -y $(DEBS) $(NODE_DEBS)); the browser, paper and OpenID tests will be skipped"; fi

# On SQLite; on PostgreSQL too when KAIGI_TEST_PG_URL is set (each worker its own database).
# pytest-xdist: TEST_WORKERS processes, one more than the cores (on 2 cores without PostgreSQL
# 2 min 37 s with 3 workers, 2 min 48 s with 2: the machine sat idle 43 s of the run with 2, the
# tests waiting on fsync, a browser or a process they started); a file's tests stay on one worker (--dist loadfile: a
# module's fixtures serve its tests, a browser walk goes in order), the longest files first
# (tests/conftest.py LONGEST_FIRST; xdist's reorder would start them last). TEST_WORKERS=0: serially.
# Lint: ruff on the whole repository, mypy on the code (strict on engine/core and store);
# both configured in pyproject.toml, and any finding fails.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: setup browser
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

clean:
	rm -rf $(VENV) kaigi.db kaigi.db-wal kaigi.db-shm
