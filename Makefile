# packbench: build, test and demo targets. `make help` lists them.

GO        ?= go
BIN       := bin
TOOLS     := tools
ENGINE    := $(abspath $(TOOLS)/node_modules/.bin/node-llama-cpp)
BUF       := $(abspath $(TOOLS)/node_modules/.bin/buf)
MODEL     ?= synth:small:q8_0
DEMO_OUT  ?= demo_runs

# The engine's package would otherwise try to fetch or compile llama.cpp at
# install time; the CPU prebuilt binaries come from the lockfile instead.
export NODE_LLAMA_CPP_SKIP_DOWNLOAD := true
export PACKBENCH_ENGINE := $(ENGINE)

.PHONY: help build test demo engine bench lint proto proto-check verify-unit fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/packbench and bin/packbench-agent
	$(GO) build -o $(BIN)/packbench ./coordinator/cmd/packbench
	$(GO) build -o $(BIN)/packbench-agent ./agent/cmd/packbench-agent

$(ENGINE): $(TOOLS)/package.json $(TOOLS)/package-lock.json
	cd $(TOOLS) && npm ci --omit=optional --no-audit --no-fund --loglevel=error
	@touch $@

engine: $(ENGINE) ## install the pinned llama.cpp engine and buf, print the engine's path
	@echo $(ENGINE)

test: build engine ## run every test (unit, case and end-to-end)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# The demo generates enough tokens (-n 256) that two instances' generation
# overlaps despite their differing start-up, with a context that holds them
# and the prompt, and splits the cores evenly (--ladder-span 0) so that no
# combo oversubscribes a small machine.
demo: build engine ## benchmark a synthesized 48 MB model on this machine
	./$(BIN)/packbench local --binary $(ENGINE) --model $(MODEL) \
		--instances 1,2 --threads-min 1 --reserve-cores 0 --ladder-span 0 \
		--ctx-size 512 -n 256 --timeout 120 --outdir $(DEMO_OUT)

bench: ## run the speed and memory benchmarks (a few minutes)
	$(GO) test -run '^$$' -bench StartSkew8 -benchtime 50x ./pkg/pack/
	PACKBENCH_BENCH_SLEEP=60s $(GO) test -run '^$$' -bench IdlePack8 -benchtime 1x ./pkg/pack/
	$(GO) test -run '^$$' -bench Fleet200 -benchtime 1x ./coordinator/
	$(GO) test -run '^$$' -bench Write -benchtime 1x ./pkg/synth/

lint: engine ## gofmt, go vet, buf lint and buf format
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BUF) lint
	$(BUF) format --diff --exit-code

proto: engine ## regenerate the Go code from proto/
	$(BUF) generate

proto-check: engine ## fail when proto/ is not linted, formatted and generated as committed
	BUF=$(BUF) proto/check.sh

verify-unit: build ## systemd-analyze verify the agent's unit
	deploy/systemd/verify.sh $(BIN)/packbench-agent

# Fuzz budgets are counts of runs, about 15-20 s each on two cores: a
# duration (-fuzztime 20s) meets a race in Go 1.26's fuzz coordinator
# (go.dev/issue/75804) that fails a clean run with "context deadline
# exceeded" at the deadline. FUZZSCALE multiplies them.
FUZZSCALE ?= 1
fuzz: ## run each fuzz target for a fixed number of runs (times FUZZSCALE)
	$(GO) test -run '^$$' -fuzz '^FuzzValidateRequest$$' -fuzztime $$((300000 * $(FUZZSCALE)))x ./agent
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $$((200000 * $(FUZZSCALE)))x ./pkg/timing
	$(GO) test -run '^$$' -fuzz '^FuzzParseInstances$$' -fuzztime $$((800000 * $(FUZZSCALE)))x ./pkg/plan
	$(GO) test -run '^$$' -fuzz '^FuzzBuild$$' -fuzztime $$((800000 * $(FUZZSCALE)))x ./pkg/plan

clean: ## remove build outputs and demo runs
	rm -rf $(BIN) $(DEMO_OUT)
