#define _GNU_SOURCE
#include "dpdkref.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

int ref_eal_init(int argc, char **argv) { return rte_eal_init(argc, argv); }

void ref_unpin_self(void) {
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int ref_eal_cleanup(void) { return rte_eal_cleanup(); }
const char *ref_strerror(int e) { return rte_strerror(e); }
int ref_errno(void) { return rte_errno; }

void *ref_ring_create(const char *name, unsigned count, unsigned flags) {
	return rte_ring_create(name, count, SOCKET_ID_ANY, flags);
}
void *ref_ring_create_elem(const char *name, unsigned esize, unsigned count, unsigned flags) {
	return rte_ring_create_elem(name, esize, count, SOCKET_ID_ANY, flags);
}
int ref_ring_init(void *mem, const char *name, unsigned count, unsigned flags) {
	return rte_ring_init(mem, name, count, flags);
}
long ref_ring_memsize_elem(unsigned esize, unsigned count) { return rte_ring_get_memsize_elem(esize, count); }
void ref_ring_free(void *r) { rte_ring_free(r); }

unsigned ref_ring_enq(void *vr, void *objs, unsigned esize, unsigned n, int mode, int bulk, unsigned *fs) {
	struct rte_ring *r = vr;
	if (bulk) {
		switch (mode) {
		case 1: return rte_ring_sp_enqueue_bulk_elem(r, objs, esize, n, fs);
		case 2: return rte_ring_mp_enqueue_bulk_elem(r, objs, esize, n, fs);
		default: return rte_ring_enqueue_bulk_elem(r, objs, esize, n, fs);
		}
	}
	switch (mode) {
	case 1: return rte_ring_sp_enqueue_burst_elem(r, objs, esize, n, fs);
	case 2: return rte_ring_mp_enqueue_burst_elem(r, objs, esize, n, fs);
	default: return rte_ring_enqueue_burst_elem(r, objs, esize, n, fs);
	}
}

unsigned ref_ring_deq(void *vr, void *objs, unsigned esize, unsigned n, int mode, int bulk, unsigned *av) {
	struct rte_ring *r = vr;
	if (bulk) {
		switch (mode) {
		case 1: return rte_ring_sc_dequeue_bulk_elem(r, objs, esize, n, av);
		case 2: return rte_ring_mc_dequeue_bulk_elem(r, objs, esize, n, av);
		default: return rte_ring_dequeue_bulk_elem(r, objs, esize, n, av);
		}
	}
	switch (mode) {
	case 1: return rte_ring_sc_dequeue_burst_elem(r, objs, esize, n, av);
	case 2: return rte_ring_mc_dequeue_burst_elem(r, objs, esize, n, av);
	default: return rte_ring_dequeue_burst_elem(r, objs, esize, n, av);
	}
}

// Single-object calls: rte_ring_{sp,mp,}_enqueue and rte_ring_{sc,mc,}_dequeue
// (0 or -ENOBUFS / -ENOENT). The object travels as an integer.
int ref_ring_enq1(void *vr, uint64_t obj, int mode) {
	struct rte_ring *r = vr;
	void *o = (void *)(uintptr_t)obj;
	switch (mode) {
	case 1: return rte_ring_sp_enqueue(r, o);
	case 2: return rte_ring_mp_enqueue(r, o);
	default: return rte_ring_enqueue(r, o);
	}
}

int ref_ring_deq1(void *vr, uint64_t *obj, int mode) {
	struct rte_ring *r = vr;
	void *o = NULL;
	int rc;
	switch (mode) {
	case 1: rc = rte_ring_sc_dequeue(r, &o); break;
	case 2: rc = rte_ring_mc_dequeue(r, &o); break;
	default: rc = rte_ring_dequeue(r, &o); break;
	}
	if (rc == 0)
		*obj = (uint64_t)(uintptr_t)o;
	return rc;
}

unsigned ref_ring_count(void *r) { return rte_ring_count(r); }
unsigned ref_ring_free_count(void *r) { return rte_ring_free_count(r); }
int ref_ring_empty(void *r) { return rte_ring_empty(r); }
int ref_ring_full(void *r) { return rte_ring_full(r); }

struct ref_worker {
	pthread_t th;
	struct rte_ring *r;
	int producer, mode, bulk;
	unsigned id, maxburst;
	uint64_t count, seed;
	uint64_t *out, cap, *consumed, total, got;
};

static uint64_t xorshift(uint64_t *s) {
	uint64_t x = *s;
	x ^= x << 13; x ^= x >> 7; x ^= x << 17;
	return *s = x;
}

static void *worker_main(void *arg) {
	struct ref_worker *w = arg;
	uint64_t buf[512];
	if (w->producer) {
		uint64_t seq = 1;
		while (seq <= w->count) {
			unsigned b = 1 + xorshift(&w->seed) % w->maxburst;
			if (b > w->count - seq + 1)
				b = w->count - seq + 1;
			for (unsigned i = 0; i < b; i++)
				buf[i] = ((uint64_t)w->id << 40) | (seq + i);
			unsigned k = ref_ring_enq(w->r, buf, 8, b, w->mode, w->bulk, NULL);
			seq += k;
			if (k == 0)
				sched_yield();
		}
		w->got = w->count;
		return NULL;
	}
	while (__atomic_load_n(w->consumed, __ATOMIC_RELAXED) < w->total) {
		unsigned b = 1 + xorshift(&w->seed) % w->maxburst;
		unsigned k = ref_ring_deq(w->r, buf, 8, b, w->mode, w->bulk, NULL);
		if (k == 0) {
			sched_yield();
			continue;
		}
		for (unsigned i = 0; i < k && w->got < w->cap; i++)
			w->out[w->got++] = buf[i];
		__atomic_fetch_add(w->consumed, k, __ATOMIC_RELAXED);
	}
	return NULL;
}

static ref_worker *start(struct ref_worker *w) {
	if (w->maxburst == 0 || w->maxburst > 512)
		w->maxburst = 512;
	if (w->seed == 0)
		w->seed = 88172645463325252ull;
	if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

ref_worker *ref_start_producer(void *r, unsigned id, uint64_t count, unsigned maxburst, int mode, int bulk, uint64_t seed) {
	struct ref_worker *w = calloc(1, sizeof(*w));
	w->r = r; w->producer = 1; w->id = id; w->count = count; w->maxburst = maxburst;
	w->mode = mode; w->bulk = bulk; w->seed = seed;
	return start(w);
}

ref_worker *ref_start_consumer(void *r, uint64_t *out, uint64_t cap, uint64_t *consumed, uint64_t total, unsigned maxburst, int mode, int bulk, uint64_t seed) {
	struct ref_worker *w = calloc(1, sizeof(*w));
	w->r = r; w->out = out; w->cap = cap; w->consumed = consumed; w->total = total;
	w->maxburst = maxburst; w->mode = mode; w->bulk = bulk; w->seed = seed;
	return start(w);
}

uint64_t ref_join(ref_worker *w) {
	pthread_join(w->th, NULL);
	uint64_t got = w->got;
	free(w);
	return got;
}

void *ref_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache, unsigned priv, unsigned dataroom, const char *ops) {
	if (ops == NULL || ops[0] == 0)
		return rte_pktmbuf_pool_create(name, n, cache, priv, dataroom, SOCKET_ID_ANY);
	return rte_pktmbuf_pool_create_by_ops(name, n, cache, priv, dataroom, SOCKET_ID_ANY, ops);
}

void *ref_pktmbuf_pool_create_pinned(const char *name, unsigned n, unsigned cache, unsigned dataroom, unsigned elt) {
	struct rte_pktmbuf_extmem ext;
	size_t len = (size_t)n * elt;
	ext.buf_ptr = rte_malloc("gmref_ext", len, 4096);
	if (ext.buf_ptr == NULL)
		return NULL;
	ext.buf_iova = rte_malloc_virt2iova(ext.buf_ptr);
	ext.buf_len = len;
	ext.elt_size = elt;
	return rte_pktmbuf_pool_create_extbuf(name, n, cache, 0, dataroom, SOCKET_ID_ANY, &ext, 1);
}

void ref_mempool_free(void *mp) { rte_mempool_free(mp); }
const char *ref_best_mempool_ops(void) { return rte_mbuf_best_mempool_ops(); }
const char *ref_mempool_ops_name(void *mp) { return rte_mempool_get_ops(((struct rte_mempool *)mp)->ops_index)->name; }
unsigned ref_mempool_avail(void *mp) { return rte_mempool_avail_count(mp); }
void *ref_cache_create(unsigned size) { return rte_mempool_cache_create(size, SOCKET_ID_ANY); }
void ref_cache_free(void *c) { rte_mempool_cache_free(c); }
int ref_mempool_get(void *mp, void **objs, unsigned n, void *cache) { return rte_mempool_generic_get(mp, objs, n, cache); }
void ref_mempool_put(void *mp, void **objs, unsigned n, void *cache) { rte_mempool_generic_put(mp, objs, n, cache); }
void ref_cache_flush(void *c, void *mp) { if (c) rte_mempool_cache_flush(c, mp); }

void *ref_pktmbuf_alloc(void *mp) { return rte_pktmbuf_alloc(mp); }
int ref_pktmbuf_alloc_bulk(void *mp, void **m, unsigned n) { return rte_pktmbuf_alloc_bulk(mp, (struct rte_mbuf **)m, n); }
void ref_pktmbuf_free(void *m) { rte_pktmbuf_free(m); }
void ref_pktmbuf_free_seg(void *m) { rte_pktmbuf_free_seg(m); }
void ref_pktmbuf_free_bulk(void **m, unsigned n) { rte_pktmbuf_free_bulk((struct rte_mbuf **)m, n); }
void ref_pktmbuf_reset(void *m) { rte_pktmbuf_reset(m); }
int ref_pktmbuf_chain(void *h, void *t) { return rte_pktmbuf_chain(h, t); }
void *ref_pktmbuf_clone(void *m, void *mp) { return rte_pktmbuf_clone(m, mp); }
void ref_pktmbuf_attach(void *mi, void *m) { rte_pktmbuf_attach(mi, m); }
uint16_t ref_refcnt_update(void *m, int16_t v) { return rte_mbuf_refcnt_update(m, v); }

static long off_or_err(struct rte_mbuf *m, char *p) {
	if (p == NULL)
		return -1;
	return (long)(p - (char *)m->buf_addr);
}
long ref_pktmbuf_prepend(void *m, uint16_t len) { return off_or_err(m, rte_pktmbuf_prepend(m, len)); }
long ref_pktmbuf_append(void *m, uint16_t len) { return off_or_err(rte_pktmbuf_lastseg(m), rte_pktmbuf_append(m, len)); }
long ref_pktmbuf_adj(void *m, uint16_t len) { return off_or_err(m, rte_pktmbuf_adj(m, len)); }
int ref_pktmbuf_trim(void *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }

static uint64_t extbuf_frees;
static void extbuf_free_cb(void *addr, void *opaque) {
	(void)opaque;
	__atomic_fetch_add(&extbuf_frees, 1, __ATOMIC_RELAXED);
	rte_free(addr);
}
uint64_t ref_extbuf_frees(void) { return __atomic_load_n(&extbuf_frees, __ATOMIC_RELAXED); }

int ref_attach_extbuf(void *vm, unsigned len) {
	struct rte_mbuf *m = vm;
	uint16_t blen = len + sizeof(struct rte_mbuf_ext_shared_info) + 8;
	void *buf = rte_malloc("gmref_extbuf", blen, 64);
	if (buf == NULL)
		return -ENOMEM;
	uint16_t buf_len = blen;
	struct rte_mbuf_ext_shared_info *sh = rte_pktmbuf_ext_shinfo_init_helper(buf, &buf_len, extbuf_free_cb, NULL);
	if (sh == NULL) {
		rte_free(buf);
		return -EINVAL;
	}
	rte_pktmbuf_attach_extbuf(m, buf, rte_malloc_virt2iova(buf), buf_len, sh);
	rte_pktmbuf_reset_headroom(m);
	return 0;
}

int ref_mbuf_check(void *m, int is_header, const char **reason) {
	return rte_mbuf_check(m, is_header, reason);
}

// now_ns reads this thread's CPU time: time the scheduler gives to other
// threads (the machine is shared) does not count.
static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct bench_arg {
	int kind;
	void *obj;
	unsigned n, cache_size;
	int mode;
	uint64_t iters;
	double ns;
};

static int bench_cpu = -1;
void ref_bench_set_cpu(int cpu) { bench_cpu = cpu; }
uint64_t ref_tsc_hz(void) { return rte_get_tsc_hz(); }

static void *bench_main(void *va) {
	struct bench_arg *a = va;
	if (bench_cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(bench_cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	void *objs[512];
	struct rte_mempool_cache *cache = NULL;
	uint64_t i;
	double t0 = 0, t1 = 0;
	rte_thread_register();
	switch (a->kind) {
	case 0: {
		struct rte_ring *r = a->obj;
		for (i = 0; i < a->n; i++)
			objs[i] = (void *)(uintptr_t)(i + 1);
		t0 = now_ns();
		if (a->mode == 1) {
			for (i = 0; i < a->iters; i++) {
				rte_ring_sp_enqueue_burst(r, objs, a->n, NULL);
				rte_ring_sc_dequeue_burst(r, objs, a->n, NULL);
			}
		} else if (a->mode == 3) {
			// Single-object calls, as ring_perf_autotest's "single".
			for (i = 0; i < a->iters; i++) {
				rte_ring_sp_enqueue(r, objs[0]);
				rte_ring_sc_dequeue(r, &objs[0]);
			}
		} else if (a->mode == 4) {
			for (i = 0; i < a->iters; i++) {
				rte_ring_mp_enqueue(r, objs[0]);
				rte_ring_mc_dequeue(r, &objs[0]);
			}
		} else {
			for (i = 0; i < a->iters; i++) {
				rte_ring_mp_enqueue_burst(r, objs, a->n, NULL);
				rte_ring_mc_dequeue_burst(r, objs, a->n, NULL);
			}
		}
		t1 = now_ns();
		break;
	}
	case 1: {
		struct rte_mempool *mp = a->obj;
		cache = rte_mempool_cache_create(a->cache_size, SOCKET_ID_ANY);
		t0 = now_ns();
		for (i = 0; i < a->iters; i++) {
			if (rte_mempool_generic_get(mp, objs, a->n, cache) == 0)
				rte_mempool_generic_put(mp, objs, a->n, cache);
		}
		t1 = now_ns();
		rte_mempool_cache_flush(cache, mp);
		rte_mempool_cache_free(cache);
		break;
	}
	case 2: {
		struct rte_mempool *mp = a->obj;
		t0 = now_ns();
		for (i = 0; i < a->iters; i++) {
			if (rte_pktmbuf_alloc_bulk(mp, (struct rte_mbuf **)objs, a->n) == 0)
				rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, a->n);
		}
		t1 = now_ns();
		rte_mempool_cache_flush(rte_mempool_default_cache(mp, rte_lcore_id()), mp);
		break;
	}
	}
	rte_thread_unregister();
	a->ns = (t1 - t0) / (double)a->iters;
	return NULL;
}

static double bench(struct bench_arg *a) {
	pthread_t th;
	if (pthread_create(&th, NULL, bench_main, a) != 0)
		return -1;
	pthread_join(th, NULL);
	return a->ns;
}

double ref_bench_ring(void *r, unsigned burst, uint64_t iters, int mode) {
	struct bench_arg a = {.kind = 0, .obj = r, .n = burst, .mode = mode, .iters = iters};
	return bench(&a);
}
double ref_bench_mempool(void *mp, unsigned n, unsigned cache_size, uint64_t iters) {
	struct bench_arg a = {.kind = 1, .obj = mp, .n = n, .cache_size = cache_size, .iters = iters};
	return bench(&a);
}
double ref_bench_mbuf(void *mp, unsigned n, uint64_t iters) {
	struct bench_arg a = {.kind = 2, .obj = mp, .n = n, .iters = iters};
	return bench(&a);
}
