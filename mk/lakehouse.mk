# Lakehouse (schema, chDB, store extension, exporter).
.PHONY: bench-lakehouse bench-lakehouse-go
BENCH_TARGETS += bench-lakehouse bench-lakehouse-go

# otelcol-warden on the peer-collector load beside peer configs a and c.
bench-lakehouse:
	./bench/lakehouse/run.sh $(BENCH_LAKEHOUSE_N)

# The exporter path alone (map + encode + chDB + Parquet), CPU µs/record;
# then the store's codecs alone (Native encode/decode, Parquet), µs/row.
bench-lakehouse-go:
	$(GO) test -run '^$$' -bench 'ExporterLogs' -benchtime 40x -count 5 ./bench/lakehouse
	$(GO) test -run '^$$' -bench 'CodecEvents' -benchmem -count 5 ./collector/lakehousestore
