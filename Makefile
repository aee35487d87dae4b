# Sirocco: `make run` starts the embedded daemon, `make test` runs every test.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PLUGINS   := http shell openstack
# The engine, the transport and the plugin host run concurrently by
# design, and so do the SDK and the plugins (many runs per process); their
# tests always run under the race detector.
RACE_PKGS := ./daemon/internal/engine/... ./daemon/internal/transport/... \
             ./daemon/internal/pluginhost/... ./daemon/internal/executor/... \
             ./sdk/... ./plugins/...

.PHONY: all build run test test-race test-rest fuzz-short vet proto clean bench

all: build

# The plugins are built outside bin/ and installed into it, so bin/'s
# catalog records their sha256 and the daemon (which looks beside its own
# binary) runs them.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/sirocco ./daemon
	@mkdir -p $(BIN)/.build
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o $(BIN)/.build/sirocco-plugin-$$p ./plugins/$$p"; \
		$(GO) build -o $(BIN)/.build/sirocco-plugin-$$p ./plugins/$$p || exit 1; \
	done
	$(BIN)/sirocco plugin install --plugin-dir $(BIN) $(foreach p,$(PLUGINS),$(BIN)/.build/sirocco-plugin-$(p))

run: build
	$(BIN)/sirocco server

test: vet fuzz-short test-race test-rest

vet:
	$(GO) vet ./...

# Every test daemon and engine checks each load from its execution cache
# against the rows (docs/engine.md).
test-race test-rest: export SIROCCO_CHECK_EXEC_CACHE = 1

test-race:
	$(GO) test -race -count=1 -timeout 10m $(RACE_PKGS)

test-rest:
	$(GO) test -count=1 -timeout 10m $$($(GO) list ./... | grep -v \
		-e /daemon/internal/engine -e /daemon/internal/transport \
		-e /daemon/internal/pluginhost -e /daemon/internal/executor \
		-e /sirocco/sdk -e /sirocco/plugins/)

# Every fuzz target of the parsers runs briefly on each test run; a finding
# fails the run and Go keeps the input under testdata/fuzz as a regression
# case. Longer runs: make fuzz-short FUZZ_TIME=10m.
FUZZ_TIME ?= 3s
fuzz-short:
	@grep -rl --include='*_test.go' '^func Fuzz' daemon sdk plugins pluginapi | xargs -n1 dirname | sort -u | \
	while read -r dir; do \
		for f in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$dir $$f ($(FUZZ_TIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZ_TIME) ./$$dir >/dev/null || \
				{ $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=1x ./$$dir; exit 1; }; \
		done; \
	done

# The benchmark (bench/, docs/performance.md): every workload on the
# embedded and the distributed mode, each next to its floor. A smoke run:
# make bench BENCH_FLAGS=-quick
BENCH_FLAGS ?=
bench: build
	$(GO) build -o $(BIN)/sirocco-bench ./bench
	$(BIN)/sirocco-bench -sirocco $(BIN)/sirocco $(BENCH_FLAGS)

# Regenerates pluginapi's Go code from its .proto with pinned generator
# versions; the normal build never needs protoc.
proto:
	./pluginapi/gen.sh

clean:
	rm -rf $(BIN)
