# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test build clean

demo:
	scripts/demo.sh

test:
	scripts/test.sh

build:
	cargo build --release -p altogic -p altogic-emulator

clean:
	cargo clean
