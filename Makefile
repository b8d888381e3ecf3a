# The two commands of the README: `make book` and `make test`. Each sets up what it needs once:
# system packages (scripts/ensure-system.sh), then .venv with dlexam installed (editable).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.installed-core
TESTS  := $(VENV)/.installed-test

.PHONY: book test check bench lint system fresh-check clean

book: system $(CORE)
	$(BIN)/dlexam book

# two workers (pytest-xdist): tests sharing a TeX build or a module's fixture stay together
# (tests/conftest.py); `-n 0` runs everything in one process
XDIST  := -n 2 --dist loadgroup

test: system $(TESTS)
	$(BIN)/ruff check dlexam tests bench
	$(BIN)/python -m pytest $(XDIST)

# the fast lane, before a commit (104 s on 2 idle cores before issue 22's work, its tests 189 -> 173 s of CPU
# since; see README): lint, the type check, the tests that need no TeX and are not marked slow, with two
# sampled questions per derivation; `make test` is CI's
check: $(TESTS)
	$(BIN)/ruff check dlexam tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(XDIST) -m "not tex and not slow" --seeds 2

bench: system $(TESTS)
	$(BIN)/python bench/bench.py

lint: $(TESTS)
	$(BIN)/ruff check dlexam tests bench

system:
	@scripts/ensure-system.sh

# The two commands above in a minimal Debian 12 root, from a clone of HEAD (root only; slow; not
# part of `make test`). Run it before a change to set-up is called done.
fresh-check:
	@scripts/fresh-check.sh

$(CORE): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "dlexam needs Python >= 3.11 ($(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(TESTS): pyproject.toml $(CORE)
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

clean:
	rm -rf out
