// Package shm attaches to a running DPDK primary process without DPDK's EAL:
// it finds the primary's runtime directory, maps its rte_mem_config, its
// fbarrays and every hugepage it uses at the primary's own addresses, keeps
// that map in step with the primary (answering mp_malloc_sync over rte_mp,
// see package ctrlproto), and looks up memzones, rings and mempools by name.
//
// Pointers read from shared memory are plain addresses in the primary's
// address space, valid here because everything is mapped at the same
// address; check them with Handle.Contains before following them.
//
// Build with -tags eal for AttachEAL, the same attach done by
// rte_eal_init(--proc-type=secondary) through cgo.
package shm
