# Two commands for a newcomer: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# checkov pins boto3 exactly, against the project's pins: it gets a venv of its own (tests/infra/test_checkov.py).
CHECKOV_VENV := .venv-checkov
# Node 22 from node_modules (the machine's Node 20 is end of life); CDK CLI offline and quiet. The venv's commands
# (aws, orderctl) come before the machine's: the docs' commands are tested with the pinned AWS CLI.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_VERSION_CHECK := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# No region is exported for your account: `make deploy`, `diff`, `watch`, `destroy`, `seed` use your AWS
# profile's (or AWS_REGION). Only the offline targets get a default (the sandbox's account lives in it).
demo serve test bench reliability burst: export AWS_DEFAULT_REGION ?= eu-west-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help browser setup synth deploy diff watch destroy test lint typecheck demo serve seed bench reliability burst clean

# `make help` prints these lines: one per target, what it really does (tests/docs/test_make.py checks).
help:
	@echo "Offline (no AWS account):"
	@echo "  make demo         set up, synthesize, deploy into the offline sandbox and run every order path"
	@echo "  make test         set up and run every test (unit, infra incl. cfn-lint and checkov, e2e, property, docs)"
	@echo "  make serve        the sandbox as a local AWS endpoint on http://127.0.0.1:5000 (Ctrl-C ends it)"
	@echo "  make setup        .venv (pinned Python packages, orderctl command), .venv-checkov, node_modules"
	@echo "  make browser      Debian's Chromium for the browser tests (apt-get as root, when missing; make test runs it)"
	@echo "  make synth        cdk synth (cdk-nag AwsSolutions on) into cdk.out/"
	@echo "  make lint         ruff check + ruff format --check (cfn-lint and checkov run in make test)"
	@echo "  make typecheck    mypy over lambdas/, infra/, orderctl/, sandbox/ (also part of make test)"
	@echo "  make bench        benchmarks and cost model -> bench/results/latest.json"
	@echo "  make reliability  randomized fault/bad-input/load suites at full size"
	@echo "  make burst        300 orders at once, SES at 1/s and Lambda concurrency capped -> latest.json burst"
	@echo "  make clean        remove cdk.out, the built dependency layer and tool caches (keeps the venvs and node_modules)"
	@echo "Your AWS account (your profile and region; bootstrap first, see README):"
	@echo "  make deploy       cdk deploy OrderProcessing (STAGE=dev) or OrderProcessing-STAGE; APPROVAL=never without a terminal"
	@echo "  make diff         cdk diff: what a deploy would change"
	@echo "  make watch        cdk watch: redeploy on every save (development accounts only)"
	@echo "  make seed         load the example catalog and stock into the deployed stack"
	@echo "  make destroy      cdk destroy; RETAIN tables stay (README: Teardown)"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt constraints-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt -c constraints-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed

synth: setup
	npx cdk synth --quiet

# STAGE: an independent copy (OrderProcessing for dev, OrderProcessing-<stage> otherwise; cdk.json "stages").
# APPROVAL: cdk's --require-approval (never | any-change | broadening); `make deploy APPROVAL=never` needs no terminal.
STAGE ?= dev
APPROVAL ?= broadening

deploy: setup
	npx cdk deploy -c stage=$(STAGE) --require-approval $(APPROVAL)

diff: setup
	npx cdk diff -c stage=$(STAGE)

watch: setup
	npx cdk watch -c stage=$(STAGE)

destroy: setup
	npx cdk destroy -c stage=$(STAGE)

seed: setup
	$(PY) -m examples.seed

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

# The browser tests (tests/web) drive Debian's Chromium (no browser download): installed when missing, as root
# (apt-get update first only if the package lists lack it); otherwise the tests fail saying how to install it.
BROWSER_PACKAGES := chromium chromium-driver
browser:
	@if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES) \
	      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES); }; \
	  else \
	    echo "make test: the browser tests need Debian's Chromium: sudo apt-get install -y $(BROWSER_PACKAGES)" >&2; \
	  fi; \
	fi

test: setup browser
	$(VENV)/bin/pytest

demo: synth
	$(PY) -m sandbox demo

serve: synth
	$(PY) -m sandbox serve

bench: synth
	$(PY) -m bench

reliability: setup
	$(PY) -m tests.reliability.run

burst: synth
	$(PY) -m bench.burst

clean:
	rm -rf cdk.out .build .pytest_cache .ruff_cache .mypy_cache .hypothesis
