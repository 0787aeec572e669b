module github.com/altogic/altogic-ffi/bench/go-cancel

go 1.23

require github.com/altogic/altogic-ffi/bindings/go v0.0.0

replace github.com/altogic/altogic-ffi/bindings/go => ../../bindings/go
