# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test build install uninstall dist dist-platforms test-platforms soak fuzz clean

# Where `make install` puts libaltogic; DESTDIR stages it for a package.
PREFIX ?= /usr/local
export PREFIX DESTDIR LIBDIR INCLUDEDIR BINDIR

demo:
	scripts/demo.sh

test:
	scripts/test.sh

# One package per invocation, so each keeps the one build of its dependencies (see demo.sh).
build:
	cargo build --release -p altogic
	cargo build --release -p altogic-emulator
	cargo build --release -p altogic-task

install:
	scripts/install.sh install

uninstall:
	scripts/install.sh uninstall

# What users install without the repository, into dist/: the manylinux wheel, the sdist, the
# C release tarball and the Go module proxy tree, then each checked away from the repository.
dist:
	scripts/dist.sh

# The release for Linux arm64, musl and Windows (and the macOS archives, compiled only), and
# those files run under qemu-user and wine: docs/platforms.md. Not part of `make test` (time).
dist-platforms:
	scripts/dist-platforms.sh

test-platforms:
	scripts/test-platforms.sh

# About a minute of mixed calls from 16 threads against the emulator and a misbehaving server.
soak:
	scripts/soak.sh

# Each cargo-fuzz target for FUZZ_SECONDS (default 60); the corpus lives in fuzz/corpus.
fuzz:
	scripts/fuzz.sh

clean:
	cargo clean
	rm -rf dist bindings/python/build

# `make bench`: benchmarks against nginx and the emulator; writes bench/results.md and .png.
.PHONY: bench
bench:
	bench/run.sh
