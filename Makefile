# Megapipe: the single entry point. `make demo` runs the main job on the local
# stack; `make test` runs every test (emulator tests start the gcloud
# emulators themselves and skip only when the emulator binaries are absent).
GO      ?= go
BIN     := bin/mega
PKGS    := ./...

.PHONY: all build test demo lint bench stage clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mega

test: lint
	$(GO) test -count=1 -timeout 30m $(PKGS)

demo: build
	./$(BIN) demo

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin dist .mega
