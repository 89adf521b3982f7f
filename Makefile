# authflow: `make e2e` runs the e2e suite against the reference stack; `make test` runs every test.
# Every target runs `setup` first, which installs or builds only what is missing (idempotent, < 5 s warm).

SHELL := /bin/bash
GO ?= go
MODES ?= hs256 jwks
ART := artifacts
GOTESTSUM := $(GO) tool gotestsum --format testname
E2E_TIMEOUT ?= 20m

export TESTCONTAINERS_RYUK_DISABLED ?= true
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1

.PHONY: setup e2e unit lint killmatrix test doctor up clean

setup:
	@bash scripts/setup.sh

# The e2e suite (API, browser and security tests) against the reference stack, once per token mode.
e2e: setup
	@mkdir -p $(ART); rc=0; for m in $(MODES); do \
	  echo "=== e2e, token mode $$m"; \
	  AUTHFLOW_TOKEN_MODE=$$m $(GOTESTSUM) --junitfile $(ART)/junit-e2e-$$m.xml --jsonfile $(ART)/e2e-$$m.json \
	    -- ./e2e/ -count=1 -timeout $(E2E_TIMEOUT) || rc=1; \
	done; exit $$rc

# Unit and component tests: everything but the e2e suites.
unit: setup
	@mkdir -p $(ART)
	$(GOTESTSUM) --junitfile $(ART)/junit-unit.xml --jsonfile $(ART)/unit.json -- -count=1 \
	  $$($(GO) list ./... | grep -v -e /e2e)

lint:
	$(GO) vet ./...
	$(GO) tool actionlint

# The kill matrix: the e2e suite must fail, for the right reason, against every fault switch.
killmatrix: setup
	@mkdir -p $(ART)
	$(GOTESTSUM) --junitfile $(ART)/junit-killmatrix.xml --jsonfile $(ART)/killmatrix.json -- \
	  ./e2e/killmatrix/ -count=1 -timeout 30m -v

test: setup lint unit e2e killmatrix

doctor:
	@$(GO) run ./cmd/authflow doctor

up: setup
	@$(GO) run ./cmd/authflow up

clean:
	rm -rf $(ART)
