// dpdkref.h: the C side of the test-only DPDK reference harness. Every
// function here calls DPDK 22.11's own inline code (rte_ring_*, rte_mempool_*,
// rte_pktmbuf_*) so Go tests can compare fastpath with it on the same memory.
#ifndef GOMARSIO_DPDKREF_H
#define GOMARSIO_DPDKREF_H

#include <stdint.h>

int ref_eal_init(int argc, char **argv);
void ref_unpin_self(void);
int ref_eal_cleanup(void);
const char *ref_strerror(int e);
int ref_errno(void);

// Rings. mode: 0 generic (ring's sync type), 1 single, 2 multi.
void *ref_ring_create(const char *name, unsigned count, unsigned flags);
void *ref_ring_create_elem(const char *name, unsigned esize, unsigned count, unsigned flags);
int ref_ring_init(void *mem, const char *name, unsigned count, unsigned flags);
long ref_ring_memsize_elem(unsigned esize, unsigned count);
void ref_ring_free(void *r);
unsigned ref_ring_enq(void *r, void *objs, unsigned esize, unsigned n, int mode, int bulk, unsigned *free_space);
unsigned ref_ring_deq(void *r, void *objs, unsigned esize, unsigned n, int mode, int bulk, unsigned *available);
int ref_ring_enq1(void *r, uint64_t obj, int mode);
int ref_ring_deq1(void *r, uint64_t *obj, int mode);
unsigned ref_ring_count(void *r);
unsigned ref_ring_free_count(void *r);
int ref_ring_empty(void *r);
int ref_ring_full(void *r);

// Threads: producers enqueue (id << 40 | seq) for seq = 1..count in random
// bursts; consumers dequeue into out until *consumed reaches total.
typedef struct ref_worker ref_worker;
ref_worker *ref_start_producer(void *r, unsigned id, uint64_t count, unsigned maxburst, int mode, int bulk, uint64_t seed);
ref_worker *ref_start_consumer(void *r, uint64_t *out, uint64_t cap, uint64_t *consumed, uint64_t total, unsigned maxburst, int mode, int bulk, uint64_t seed);
uint64_t ref_join(ref_worker *w);

// Mempools and mbufs.
void *ref_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache, unsigned priv, unsigned dataroom, const char *ops);
void *ref_pktmbuf_pool_create_pinned(const char *name, unsigned n, unsigned cache, unsigned dataroom, unsigned elt);
void ref_mempool_free(void *mp);
const char *ref_best_mempool_ops(void);
const char *ref_mempool_ops_name(void *mp);
unsigned ref_mempool_avail(void *mp);
void *ref_cache_create(unsigned size);
void ref_cache_free(void *c);
int ref_mempool_get(void *mp, void **objs, unsigned n, void *cache);
void ref_mempool_put(void *mp, void **objs, unsigned n, void *cache);
void ref_cache_flush(void *c, void *mp);

void *ref_pktmbuf_alloc(void *mp);
int ref_pktmbuf_alloc_bulk(void *mp, void **m, unsigned n);
void ref_pktmbuf_free(void *m);
void ref_pktmbuf_free_seg(void *m);
void ref_pktmbuf_free_bulk(void **m, unsigned n);
void ref_pktmbuf_reset(void *m);
int ref_pktmbuf_chain(void *head, void *tail);
void *ref_pktmbuf_clone(void *m, void *mp);
void ref_pktmbuf_attach(void *mi, void *m);
uint16_t ref_refcnt_update(void *m, int16_t v);
long ref_pktmbuf_prepend(void *m, uint16_t len);
long ref_pktmbuf_append(void *m, uint16_t len);
long ref_pktmbuf_adj(void *m, uint16_t len);
int ref_pktmbuf_trim(void *m, uint16_t len);
// ref_attach_extbuf attaches a malloc'ed external buffer of len bytes with a
// C free callback that counts calls in *ref_extbuf_frees.
int ref_attach_extbuf(void *m, unsigned len);
uint64_t ref_extbuf_frees(void);
int ref_mbuf_check(void *m, int is_header, const char **reason);

// Benchmark loops: one call per measurement; each returns nanoseconds per
// iteration measured inside C on a fresh registered thread.
void ref_bench_set_cpu(int cpu);
uint64_t ref_tsc_hz(void);
// ref_bench_ring mode: 1 SP/SC burst, 2 MP/MC burst, 3 SP/SC single-object
// calls (burst ignored), 4 MP/MC single-object calls.
double ref_bench_ring(void *r, unsigned burst, uint64_t iters, int mode);
double ref_bench_mempool(void *mp, unsigned n, unsigned cache_size, uint64_t iters);
double ref_bench_mbuf(void *mp, unsigned n, uint64_t iters);

#endif
