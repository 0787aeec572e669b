# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test build install uninstall soak fuzz clean

# Where `make install` puts libaltogic; DESTDIR stages it for a package.
PREFIX ?= /usr/local
export PREFIX DESTDIR LIBDIR INCLUDEDIR

demo:
	scripts/demo.sh

test:
	scripts/test.sh

build:
	cargo build --release -p altogic -p altogic-emulator

install:
	scripts/install.sh install

uninstall:
	scripts/install.sh uninstall

# About a minute of mixed calls from 16 threads against the emulator and a misbehaving server.
soak:
	scripts/soak.sh

# Each cargo-fuzz target for FUZZ_SECONDS (default 60); the corpus lives in fuzz/corpus.
fuzz:
	scripts/fuzz.sh

clean:
	cargo clean

# `make bench`: benchmarks against nginx and the emulator; writes bench/results.md and .png.
.PHONY: bench
bench:
	bench/run.sh
