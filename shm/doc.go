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
// How the memory is mapped (pure-Go path): config at mem_cfg_addr and every
// fbarray at its data address with MAP_FIXED_NOREPLACE (an occupied range
// is ErrAddrInUse); each memseg list's whole range is reserved PROT_NONE, as
// an EAL secondary does, and used pages are mapped MAP_SHARED over that
// reservation — one mmap per page, or per run of pages with
// --single-file-segments, spread over a few goroutines; --legacy-mem pages
// come from <runtime dir>/hugepage_data. Hugepage file descriptors are
// closed right after mmap: unlike EAL we hold no flock on the page files,
// so a primary that frees a page may unlink its file while we still map it
// (the page stays valid until our mp_malloc_sync answer unmaps it).
//
// Build with -tags eal for AttachEAL, the same attach done by
// rte_eal_init(--proc-type=secondary) through cgo.
package shm
