module altogic-bench/netproxy

go 1.22
