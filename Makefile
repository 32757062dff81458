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

# System packages the test suite drives (none yet beyond Python's own).
test-deps:
	@true
