# msuinspect — the two set-up commands of the README:
#   make demo   inspect the bundled sample packages, judge them for a bare 2008 SP2 host,
#               plan their order and show a host's status (installs what it needs)
#   make test   lint, type-check and run the whole test suite (installs what it needs)
# make test-fast is the edit loop: the suite without the corpus, the oracles and the tests
# marked slow, on every core (seconds; run `make test` before committing).
# CI (.ci/run) also runs `make fuzz`: every fuzz target for FUZZ_SECONDS in all (wall clock,
# two at a time); `make fuzz-release` is the longer run before a release (docs/security.md).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLES := tests/fixtures/sample/Windows6.0-KB9999901-x64.msu tests/fixtures/sample/Windows6.0-KB9999902-x64.msu

# pytest-xdist workers for make test and make test-fast (auto: one per core); bytecode is
# cached (__pycache__, git-ignored) even where PYTHONDONTWRITEBYTECODE is set, or every
# worker and every `python -m msuinspect` the tests start compiles the project again
PYTEST_JOBS ?= auto
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n $(PYTEST_JOBS) --dist worksteal

FUZZ_SECONDS ?= 180
FUZZ_RELEASE_SECONDS ?= 1500
FUZZ_RELEASE_OUT ?= $(or $(TMPDIR),/tmp)/msuinspect-fuzz-release

.PHONY: demo test test-fast lint typecheck pytest system-deps venv bench fixtures clean fuzz fuzz-release

demo: system-deps venv
	$(BIN)/msuinspect list --recursive $(SAMPLES)
	$(BIN)/msuinspect inspect --trust-root tests/fixtures/pki/root_ca.pem $(SAMPLES)
	$(BIN)/msuinspect inspect --trust-root tests/fixtures/pki/root_ca.pem \
		--host preset:2008sp2-rtm-x64 tests/fixtures/verdict/Windows6.0-KB4507452-x64.msu
	$(BIN)/msuinspect plan tests/fixtures/verdict --host preset:2008sp2-rtm-x64 \
		--trust-root tests/fixtures/pki/root_ca.pem
	$(BIN)/msuinspect host status tests/fixtures/host/systeminfo-de-6002-ssu.txt \
		tests/fixtures/host/certutil-root-inbox.txt

test: system-deps venv lint typecheck pytest

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy src

pytest: venv
	$(PYTEST)

test-fast: venv
	MSUINSPECT_NO_ORACLES=1 MSUINSPECT_CORPUS=/nonexistent \
		$(PYTEST) -rfE -m "not slow and not corpus and not oracle"

system-deps:
	@./scripts/install-system-deps.sh

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	@touch $(STAMP)

fuzz: system-deps venv
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS)

fuzz-release: system-deps venv
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_RELEASE_SECONDS) --out $(FUZZ_RELEASE_OUT) \
		--report $(FUZZ_RELEASE_OUT)/report.json

bench: system-deps venv
	$(BIN)/python bench/bench_cab.py

fixtures: system-deps venv
	$(BIN)/python tests/fixtures/generate_fixtures.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
