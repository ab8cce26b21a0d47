# The two commands of the README:
#   make serve   install what is missing, build, run `inferline serve` with the shipped model
#   make test    install what is missing, build, run every test (release tree, then the unit
#                tests under ASan+UBSan, then the fuzzers for a bounded time)
# Extra arguments for serve: make serve ARGS="--port 9000"

.PHONY: serve test build deps asan fuzz clean
ARGS ?=
FUZZ_SECONDS ?= 20

deps:
	@scripts/setup.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

serve: build
	./build/release/bin/inferline serve $(ARGS)

test: build
	ctest --preset release
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan
	ctest --preset asan
	scripts/run-fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
