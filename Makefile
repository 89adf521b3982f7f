# authflow: `make e2e` runs the e2e suite against the reference stack; `make test` runs every test.
# Every target runs `setup` first, which installs or builds only what is missing (idempotent, < 5 s warm).

SHELL := /bin/bash
GO ?= go
MODES ?=
ART ?= $(or $(AUTHFLOW_ARTIFACTS),artifacts)
GOTESTSUM := $(GO) tool gotestsum --format testname
SUMMARIZE := $(GO) run ./internal/report/cmd/summarize
AUTHFLOW := $(GO) run ./cmd/authflow
E2E_TIMEOUT ?= 20m

export TESTCONTAINERS_RYUK_DISABLED ?= true
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1

.PHONY: setup e2e e2e-profiles unit lint killmatrix test doctor up clean app-repo proxy

setup:
	@bash scripts/setup.sh

# The e2e suite (API, browser and security tests) against the reference stack, once per token mode
# (AUTHFLOW_SHARD=i/n runs one shard of it), through `authflow test`: the same code path an app
# repository's `authflow test` takes. JUnit XML and `go test -json` go to artifacts/; then the run
# summary (artifacts/summary.md, and $GITHUB_STEP_SUMMARY in GitHub Actions) names the first failure
# and fails a run in which no test executed. A target's baseline (known failures) is applied there: only new failures
# and listed tests that now pass fail the run.
e2e: setup
	@$(AUTHFLOW) test -setup=false $(if $(MODES),-mode "$(MODES)") -artifacts $(ART) -timeout $(E2E_TIMEOUT) $(if $(SKIP),-skip '$(SKIP)')

# The e2e suite against the reference app's profiles, which behave like real apps (switched by the
# app's env, see targets/README.md), with its reports under artifacts/profiles/<name>/ (<name>-<modes>/
# when the list names a file twice). An entry is
# target[:modes[:skip]]: modes (comma-separated) default to hs256; skip is a go test -skip pattern for
# the tests a profile does not need because it changes nothing they exercise (never to save a failing
# test), and the run's title says so.
#   reference-notasks  only the assistant differs: the browser journeys add nothing (its task journey is n/a)
#   reference-sdk      the SDK-like backend: every test in hs256, and in jwks all but the browser journeys
#                      (only the token differs there, which the browser passes on as opaque bytes)
#   reference-rs256    jwks only, and only the token's algorithm differs: the browser passes the token on
#                      as opaque bytes, so its journeys add nothing
# reference-process (the services as host processes) is not here: the kill matrix's own-database suite
# runs the whole suite with the services as host processes (reference-owndb.yaml extends it), and its
# clean and fault rows run against it.
# Entries that skip every browser test run at once, after the others, their logs printed in order when
# all have ended: a stack that starts disturbs only a browser running beside it (net::ERR_NETWORK_CHANGED).
PROFILES ?= targets/reference-production.yaml targets/reference-notasks.yaml::TestBrowser_ \
  targets/reference-ba14.yaml targets/reference-sdk.yaml targets/reference-sdk.yaml:jwks:TestBrowser_ \
  targets/reference-rs256.yaml:jwks:TestBrowser_
e2e-profiles: setup
	@rc=0; mkdir -p $(ART)/profiles; \
	profile() { IFS=: read -r f m s <<<"$$1"; n=$$(name "$$1"); m=$${m:-hs256}; m=$${m//,/ }; \
	  echo "=== e2e against $$f ($$m$${s:+; not run: $$s, which this profile does not change})"; \
	  AUTHFLOW_TARGET=$$f AUTHFLOW_ARTIFACTS=$(ART)/profiles/$$n $(MAKE) --no-print-directory e2e MODES="$$m" SKIP="$$s" \
	    ART=$(ART)/profiles/$$n; }; \
	name() { local f=$${1%%:*} m; m=$$(cut -s -d: -f2 <<<"$$1"); n=$$(basename $$f .yaml); \
	  if [ "$$(printf '%s\n' $(PROFILES) | grep -c "^$$f\(:\|$$\)")" -gt 1 ]; then n=$$n-$${m:-hs256}; fi; echo "$${n//,/-}"; }; \
	quiet=; for p in $(PROFILES); do \
	  if [ "$${p##*:}" = TestBrowser_ ]; then quiet="$$quiet $$p"; else profile "$$p" || rc=1; fi; \
	done; \
	pids=; for p in $$quiet; do n=$$(name "$$p"); \
	  (profile "$$p" > $(ART)/profiles/$$n.log 2>&1; echo $$? > $(ART)/profiles/$$n.rc) & pids="$$pids $$!"; \
	done; \
	wait $$pids; \
	for p in $$quiet; do n=$$(name "$$p"); cat $(ART)/profiles/$$n.log; \
	  [ "$$(cat $(ART)/profiles/$$n.rc 2>/dev/null)" = 0 ] || rc=1; rm -f $(ART)/profiles/$$n.rc; \
	done; exit $$rc

# Unit and component tests: everything but the e2e suites. The browser package runs on its own after
# the rest: packages that start containers change the host's network, and Chromium aborts in-flight
# requests when it sees that (net::ERR_NETWORK_CHANGED).
unit: setup
	@mkdir -p $(ART)
	$(GOTESTSUM) --junitfile $(ART)/junit-unit.xml --jsonfile $(ART)/unit.json -- -count=1 \
	  $$($(GO) list ./... | grep -v -E '/authflow/e2e(/|$$)|/scenarios/browser$$')
	@# refapp is its own module (without the tool directive): gotestsum is the harness module's, run there
	cd refapp && $$($(GO) -C .. tool -n gotestsum) --format testname --junitfile $(abspath $(ART))/junit-unit-refapp.xml \
	  --jsonfile $(abspath $(ART))/unit-refapp.json -- -count=1 ./...
	$(GOTESTSUM) --junitfile $(ART)/junit-unit-browser.xml --jsonfile $(ART)/unit-browser.json -- -count=1 ./scenarios/browser/

# vet, gofmt, a tidy go.mod (no missing or unused requirement, direct ones not marked indirect) for the
# harness and for refapp (its own module), and the workflows. The repository's own hygiene checks (internal/hygiene) run with the unit tests.
lint:
	$(GO) vet ./...
	cd refapp && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	cd refapp && $(GO) mod tidy -diff
	$(GO) tool actionlint
	$(GO) tool actionlint examples/app-repo/.github/workflows/authflow.yml

# KILLMATRIX_PARALLEL is how many API-only child runs go at once (browser ones run alone): a child is
# mostly its stack starting, so 3 beat 2 on a 2-core machine (the matrix took 209 s instead of 241 s).
KILLMATRIX_PARALLEL ?= 3

# The kill matrix: the e2e suite must fail, for the right reason, against every fault switch; the clean
# stack must pass and leak no secret; the shards partition the suite; the browser suite passes through a
# browser server on loopback. Prints the kill table (artifacts/kill-matrix.md).
killmatrix: setup
	@mkdir -p $(ART); rm -f $(ART)/kill-matrix.md; rc=0; \
	$(GOTESTSUM) --junitfile $(ART)/junit-killmatrix.xml --jsonfile $(ART)/killmatrix.json -- \
	  ./e2e/killmatrix/ -count=1 -timeout 30m -v -parallel $(KILLMATRIX_PARALLEL) || rc=1; \
	if [ -f $(ART)/kill-matrix.md ]; then echo; cat $(ART)/kill-matrix.md; fi; \
	$(SUMMARIZE) -title "authflow kill matrix" -o $(ART)/summary-killmatrix.md -extra $(ART)/kill-matrix.md \
	  -junit $(ART)/junit-killmatrix.xml $(ART)/killmatrix.json || rc=1; \
	exit $$rc

# make test's kill matrix reads the reference target's clean rows from the e2e runs it just made
# (KILLMATRIX_CLEAN_FROM: the whole suite passed there in both modes, leak-checked) instead of
# starting the clean stack again; make killmatrix alone runs them itself.
test: setup lint unit e2e e2e-profiles
	@KILLMATRIX_CLEAN_FROM=$(abspath $(ART)) $(MAKE) --no-print-directory killmatrix

doctor:
	@$(AUTHFLOW) doctor

up: setup
	@$(AUTHFLOW) up

clean:
	rm -rf $(ART)

# A scratch app repository made of the reference app (README, "From an app repository").
app-repo:
	@test -n "$(DIR)" || { echo "usage: make app-repo DIR=/path/to/new/folder" >&2; exit 2; }
	@bash scripts/app-repo.sh "$(DIR)"

# A local module proxy serving this checkout's HEAD, and the go install command that installs authflow
# from it the way an app team installs a release (no registry needed).
proxy:
	@$(GO) run ./internal/release/cmd/modproxy -o $(or $(DIR),$(ART)/goproxy)
