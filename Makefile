# The two commands a new user needs (see README.md):
#   make demo   install and start the whole system on embedded defaults
#   make test   install what the tests need and run them all
# Everything goes into a virtual environment in .venv; nothing is installed system-wide
# except Debian packages the browser tests need (make test-deps).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-deps install

demo: $(STAMP)
	$(BIN)/phonghop demo $(ARGS)

test: $(STAMP) test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# System packages the test suite drives: the browser tests (tests/e2e) run Debian's
# Chromium through Playwright, because Playwright's own browser download needs the internet.
# Installed only when missing (CI runs as root on a possibly fresh machine).
test-deps:
	@test -x /usr/bin/chromium || { \
	  apt-get update && apt-get install -y --no-install-recommends chromium; }
