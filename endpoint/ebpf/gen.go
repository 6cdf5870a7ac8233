// Package ebpf holds the eBPF programs of `warden run` (warden.c) and their
// bpf2go output (warden_bpfel.go, warden_bpfel.o), both committed so that
// building Warden needs no clang. `make generate-endpoint-bpf` regenerates.
package ebpf

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -type event -type dest_key warden warden.c -- -I/usr/include/x86_64-linux-gnu -O2 -g -Wall
