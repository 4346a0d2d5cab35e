# Megapipe: the single entry point. `make demo` runs the main job on the local
# stack; `make test` runs every test (emulator tests start the gcloud
# emulators themselves and skip only when the emulator binaries are absent).
GO      ?= go
BIN     := bin/mega
PKGS    := ./...
# The int8 kernels have AVX2 versions in simd/archsimd, which Go 1.26 builds
# only with GOEXPERIMENT=simd on amd64; elsewhere the pure-Go kernels run.
SIMD    := $(if $(filter amd64,$(shell $(GO) env GOARCH)),simd,)

.PHONY: all build test demo lint bench stage fuzz clean

all: build

build:
	GOEXPERIMENT=$(SIMD) $(GO) build -o $(BIN) ./cmd/mega

test: lint
	$(GO) test -count=1 -timeout 30m $(PKGS)
	@if [ -n "$(SIMD)" ]; then \
	  echo "== again with GOEXPERIMENT=simd: the vector kernels and what runs them"; \
	  GOEXPERIMENT=simd $(GO) test -count=1 -timeout 30m ./shared/infer/... ./shared/quant/... ./shared/serve/...; \
	fi

demo: build
	./$(BIN) demo

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

bench:
	GOEXPERIMENT=$(SIMD) $(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# One deployable folder per function under dist/functions, checked against
# the Cloud Functions Go builder's rules and built alone.
stage:
	$(GO) run ./cmd/mega stage --verify

# Fuzz every parser for FUZZTIME each, one core (the CI does not run this).
FUZZTIME ?= 1m
fuzz:
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$t $$f"; GOMAXPROCS=1 $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$t || exit 1; \
	  done; \
	done

clean:
	rm -rf bin dist .mega

# Regenerate the gRPC code of shared/serve/pb (committed; CI needs no protoc).
# Needs protoc (apt protobuf-compiler), protoc-gen-go v1.36.12 and
# protoc-gen-go-grpc v1.5.1 on PATH.
proto:
	cd shared/serve/pb/inference && protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative grpc_service.proto
	cd shared/serve/pb/tfserving && protoc -I . --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative tensorflow.proto error_codes.proto serving.proto
.PHONY: proto
