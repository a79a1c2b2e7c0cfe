# gomarsio — see README.md. Every target that needs DPDK or hugepages depends on deps.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
HUGEPAGES ?= 1024
# DPDK versions the generator mirrors (zz_generated/dpdkXXYY).
DPDK_VERSIONS ?= 20.11 22.11 24.11

.PHONY: all deps generate verify-generated build lint test test-go test-purego bench demo clean

all: build

## deps: install Debian's DPDK packages and toolchain, reserve and mount hugepages (root)
deps:
	@HUGEPAGES=$(HUGEPAGES) ./scripts/deps.sh

## generate: regenerate zz_generated/ for every DPDK version (one version: make generate DPDK_VERSIONS=22.11)
generate: deps
	$(GO) run ./gen $(addprefix -dpdk ,$(DPDK_VERSIONS))

## verify-generated: regenerate and fail on any difference from what is committed
verify-generated: deps
	@./scripts/verify-generated.sh $(DPDK_VERSIONS)

## build: build everything; the library must also build without cgo
build: deps
	$(GO) build ./...
	CGO_ENABLED=0 $(GO) build . ./zz_generated/... ./fastpath/... ./shm/... ./ctrlproto/... ./tools/mrinspect ./tools/mrdoctor ./tools/mrstat

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	$(GO) tool staticcheck ./...

## test: everything CI runs (installs what it needs first)
test: deps build lint verify-generated test-go test-purego

test-go:
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -count=1 -timeout 20m -tags eal ./shm/...

test-purego:
	$(GO) test -count=1 -tags purego -timeout 20m ./fastpath/...

## bench: every mrbench suite, results in bench/results.json and bench/results.png
bench: deps
	$(GO) run ./tools/mrbench all -json bench/results.json -png bench/results.png

## demo: the main job on the embedded default config
demo: deps build
	@./scripts/demo.sh

clean:
	rm -rf bin build
