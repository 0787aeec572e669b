module github.com/altogic/altogic-ffi/bindings/go

go 1.23
