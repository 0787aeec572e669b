# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test build install uninstall clean

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

clean:
	cargo clean

# `make bench`: benchmarks against nginx and the emulator; writes bench/results.md and .png.
.PHONY: bench
bench:
	bench/run.sh
