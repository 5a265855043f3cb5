# portlab: `make run` starts the sandbox, `make test` passes every test.
# Both install or build whatever they need on a fresh Debian machine.

GO        ?= go
BIN       := bin/portlab
ARGS      ?=
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WASM_SRC  := $(shell find wasm scenarios -name '*.go' -not -name '*_test.go' 2>/dev/null) $(wildcard scenarios/lessons/*)
WASM_OUT  := web/static/wasm/portlab.wasm.br
TEMPL_SRC := $(shell find web -name '*.templ' 2>/dev/null)
# Every fuzz target, as package:Target; `make test` runs each briefly.
FUZZ      := $(shell find $(wildcard server scenarios) -name '*_test.go' | xargs -r grep -H -o '^func Fuzz[A-Za-z0-9_]*' | \
               sed -E 's|^(.*)/[^/]*_test.go:func |./\1:|')
FUZZTIME  ?= 4s
# `make test` fuzzes each target this long; seeds run in `go test` too.
TEST_FUZZTIME ?= 2s
# The packages whose goroutines share the most state: `make test` runs
# their tests once, under the race detector, and the rest without it.
RACE      := ./server/relay/ ./server/events/ ./server/mailbox/ ./server/gateway/ ./server/lab/ ./server/replica/ ./scenarios/...

.PHONY: all build run test bench lint generate check-generated fuzz test-deps clean image

all: build

build: $(BIN)

# The wasm client is built and compressed before the server, which embeds it.
$(WASM_OUT): $(WASM_SRC)
	@mkdir -p $(dir $(WASM_OUT))
	$(GO) run ./web/internal/assets

# *_templ.go files are committed (so `go build` and `go vet` work from a
# clone) and regenerated here; `make test` checks they are current.
generate:
	$(if $(TEMPL_SRC),$(GO) tool templ generate -path web -log-level warn,@true)

# (While the browser client is not in the tree, the server builds alone.)
HAVE_WEB  := $(wildcard web/internal/assets/main.go)

$(BIN): $(if $(HAVE_WEB),$(WASM_OUT) generate) FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./server

FORCE:

run: build
	$(BIN) serve $(ARGS)

# The container image (deploy/Dockerfile: the static binary FROM scratch),
# with buildah from Debian's package (no daemon) or docker where it runs.
IMAGE ?= localhost/portlab:latest
image: build
	@if command -v buildah >/dev/null 2>&1; then \
	  buildah bud --isolation chroot -f deploy/Dockerfile -t $(IMAGE) . ; \
	else docker build -f deploy/Dockerfile -t $(IMAGE) . ; fi

# Third-party clients for the interop tests, the browser for the
# browser tests and PostgreSQL for the shared-store tests (which start
# their own server from /usr/lib/postgresql), from Debian's packages.
test-deps:
	@missing=""; \
	for p in swaks:swaks chromium:chromium curl:curl openssl:openssl python3:python3 buildah:buildah; do \
	  command -v $${p%%:*} >/dev/null 2>&1 || missing="$$missing $${p#*:}"; \
	done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

check-generated: generate
	@git diff --exit-code -- 'web/*_templ.go' || { echo "web/*_templ.go are stale: run make generate and commit"; exit 1; }

lint: check-generated
	@out=$$(gofmt -l $(wildcard server wasm web scenarios deploy)); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(if $(wildcard wasm/*.go scenarios/*/*.go),GOOS=js GOARCH=wasm $(GO) vet $(if $(wildcard wasm/*.go),./wasm/...) $(if $(wildcard scenarios/*/*.go),./scenarios/...))
	$(GO) tool staticcheck ./...

fuzz:
	@for t in $(FUZZ); do \
	  pkg=$${t%%:*}; name=$${t#*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || exit 1; \
	done

# Playing every lesson headless mostly waits for the profiles' time-outs
# (seconds of CPU in a minute), so it runs beside the race tests and its
# output is printed when it ends.
test: test-deps build lint
	PORTLAB_REQUIRE_TOOLS=1 PORTLAB_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 $$($(GO) list ./... | grep -vxF "$$($(GO) list $(RACE))")
	$(BIN) scenarios lint
	@out=$$(mktemp); $(BIN) scenarios run --all >$$out 2>&1 & run=$$!; \
	echo "$(BIN) scenarios run --all, beside:"; \
	echo "$(GO) test -count=1 -race $(RACE)"; \
	$(GO) test -count=1 -race $(RACE); race=$$?; \
	wait $$run; lessons=$$?; cat $$out; rm -f $$out; \
	[ $$race = 0 ] && [ $$lessons = 0 ]
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

# Figures for the README's Performance section; each line has its baseline
# measured in the same run.
bench: build
	$(GO) test -run '^$$' -bench Submission -benchtime 2s ./server/relay/
	$(GO) test -run '^$$' -bench IdleConnection -benchtime 2000x ./server/relay/
	$(GO) test -run '^$$' -bench NOOP -benchtime 5000x ./server/gateway/
	$(GO) test -run '^$$' -bench HeldTunnels -benchtime 5000x ./server/gateway/
	PORTLAB_BENCH=1 PORTLAB_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run TestLoadDescriptorFlood -v ./server/
	PORTLAB_BENCH=1 $(GO) test -count=1 -run TestBenchClient -v ./web/e2e/
	PORTLAB_BENCH=1 $(GO) test -count=1 -run 'TestBenchLessons|TestBenchCrossReplicaProgress' -v ./server/sandbox/
	PORTLAB_BENCH=1 $(GO) test -count=1 -run 'TestLoadClass' -v ./server/classroom/

clean:
	rm -rf bin web/static/wasm/portlab.wasm* web/static/wasm/wasm_exec.js
