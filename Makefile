# Warroom developer entry points. Everything runs from the project's own .venv.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST := $(VPY) -m pytest -q

.PHONY: venv run lint typecheck test test-unit test-integration test-e2e bench schemas clean lock

venv: $(STAMP)

# Re-installs when a lock or the project metadata change. Both locks pin every package with its
# hashes: what the services run on (requirements.lock, all the image has) and what the tests add.
$(STAMP): requirements.lock requirements-test.lock pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --require-hashes -r requirements.lock -r requirements-test.lock
	$(VPY) -m pip install --no-deps -e .
	touch $@

# Rewrites both locks from pyproject.toml, keeping every version they pin (delete an entry to let it
# move), with the hashes PyPI lists; pip-tools runs from a venv of its own, never the project's.
LOCKTOOLS := var/lock-tools
lock:
	test -x $(LOCKTOOLS)/bin/pip-compile || ($(PYTHON) -m venv $(LOCKTOOLS) && $(LOCKTOOLS)/bin/pip install pip-tools)
	$(PYTHON) -m tools.lock $(LOCKTOOLS)/bin/pip-compile

run: venv
	$(VPY) -m tools.run

# Static checks, run first by `make test` so CI enforces them (configuration: pyproject.toml):
# ruff's lint and format check, and mypy (strict for shared/, client/ and the domain packages).
lint: venv
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VPY) -m mypy

typecheck: venv
	$(VPY) -m mypy

# Slow variants (marker "slow") are left out; PYTEST_ARGS="-m slow" runs them.
test: venv lint
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

test-unit: venv
	$(PYTEST) tests/unit $(PYTEST_ARGS)

test-integration: venv
	$(PYTEST) tests/integration $(PYTEST_ARGS)

test-e2e: venv
	$(PYTEST) tests/e2e $(PYTEST_ARGS)

bench: venv
	$(VPY) -m bench

schemas: venv
	$(VPY) -m shared.contract.schemas --write

# The deployment's init step: declares the JetStream streams and every service's consumers on
# WARROOM_NATS_URL (default: make run's NATS); WARROOM_STREAM_REPLICAS=3 on a 3-node cluster.
.PHONY: init
init: venv
	$(VPY) -m shared.init

# Stops servers a killed `make run` may have left, then removes their data.
clean:
	if [ -x $(VPY) ] && [ -d var ]; then $(VPY) -m tools.localstack down --dir var; fi
	rm -rf var
