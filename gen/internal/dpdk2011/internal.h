/*
 * DPDK 20.11 internal structures mirrored by gomarsio (an ABI fact written
 * by us): their members as declared in DPDK 20.11's
 * lib/eal/common/eal_memcfg.h, malloc_heap.h, malloc_elem.h and the
 * mp_msg_internal frame of eal_common_proc.c. The -dev package lacks these
 * headers, so the generator compiles this file against the version's public
 * headers and, where Debian's source package is reachable, checks every
 * member's offset and size against the real internal headers.
 */
#ifndef GOMARSIO_INTERNAL_DPDK2011_H
#define GOMARSIO_INTERNAL_DPDK2011_H

#include <stdint.h>
#include <sys/queue.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_fbarray.h>
#include <rte_memory.h>
#include <rte_rwlock.h>
#include <rte_spinlock.h>
#include <rte_tailq.h>

/* malloc_heap.h */
#ifndef RTE_HEAP_NUM_FREELISTS
#define RTE_HEAP_NUM_FREELISTS 13
#endif
#ifndef RTE_HEAP_NAME_MAX_LEN
#define RTE_HEAP_NAME_MAX_LEN 32
#endif

/* malloc_elem.h */
enum elem_state {
	ELEM_FREE = 0,
	ELEM_BUSY,
	ELEM_PAD
};

struct malloc_heap;

struct malloc_elem {
	struct malloc_heap *heap;
	struct malloc_elem *volatile prev;
	struct malloc_elem *volatile next;
	LIST_ENTRY(malloc_elem) free_list;
	struct rte_memseg_list *msl;
	volatile enum elem_state state;
	uint32_t pad;
	size_t size;
	struct malloc_elem *orig_elem;
	size_t orig_size;
} __rte_cache_aligned;

/* malloc_heap.h */
struct malloc_heap {
	rte_spinlock_t lock;
	LIST_HEAD(, malloc_elem) free_head[RTE_HEAP_NUM_FREELISTS];
	struct malloc_elem *volatile first;
	struct malloc_elem *volatile last;
	unsigned int alloc_count;
	unsigned int socket_id;
	size_t total_size;
	char name[RTE_HEAP_NAME_MAX_LEN];
} __rte_cache_aligned;

/* eal_memcfg.h */
struct rte_mem_config {
	volatile uint32_t magic;
	uint32_t version;
	uint32_t nchannel;
	uint32_t nrank;
	rte_rwlock_t mlock;
	rte_rwlock_t qlock;
	rte_rwlock_t mplock;
	rte_spinlock_t tlock;
	rte_rwlock_t memory_hotplug_lock;
	uint8_t mp_status;
	struct rte_fbarray memzones;
	struct rte_memseg_list memsegs[RTE_MAX_MEMSEG_LISTS];
	struct rte_tailq_head tailq_head[RTE_MAX_TAILQ];
	struct malloc_heap malloc_heaps[RTE_MAX_HEAPS];
	int next_socket_id;
	uint64_t mem_cfg_addr;
	uint32_t legacy_mem;
	uint32_t single_file_segments;
	uint64_t tsc_hz;
	uint8_t dma_maskbits;
};

/* eal_common_proc.c: one datagram on the mp_socket */
struct mp_msg_internal {
	int type;
	struct rte_mp_msg msg;
};

#endif
