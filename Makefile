# Parta: everyday commands. Needs only Python 3.11+ and make.
#   make demo   — a local demo with a seeded district at http://127.0.0.1:8000
#   make test   — the whole test suite (browser tests skip without /usr/bin/chromium)
#   make lint   — ruff, mypy and the import layering (import-linter, pyproject.toml)
#   make lock   — regenerate requirements.lock from a clean virtualenv

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; reinstall only when the inputs change.
INSTALLED := $(VENV)/.parta-installed
DEMO_ENV := DEBUG=1 PARTA_DATA_DIR=./data
LOCK_VENV := .lock-venv

.PHONY: install demo test lint lock

install: $(INSTALLED)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

demo: $(INSTALLED)
	$(DEMO_ENV) $(BIN)/parta migrate --noinput
	$(DEMO_ENV) $(BIN)/parta seed-demo
	$(DEMO_ENV) $(BIN)/parta serve --host 127.0.0.1 --port 8000

# Prints how long the suite took; pytest's exit status (5, no tests, included) is make's.
test: $(INSTALLED)
	@start=$$(date +%s); $(BIN)/pytest; status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s (exit $$status)"; exit $$status

# mypy's Django plugin loads the settings, which want a secret key outside DEBUG.
lint: $(INSTALLED)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	PARTA_ALLOW_DEV_SECRET=1 $(BIN)/mypy src tests
	$(BIN)/lint-imports --no-logo

lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ echo "# Every installed package, pinned. Regenerate with: make lock"; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable --exclude parta; } > requirements.lock
	rm -rf $(LOCK_VENV)
