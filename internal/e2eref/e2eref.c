/* e2eref.c — see e2eref.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_string_fns.h>

#include "mrzcpd_abi.h"
#include "e2eref.h"

#define ERRF(...) do { snprintf(err, errlen, __VA_ARGS__); } while (0)

int e2e_eal_init(int argc, char **argv, char *err, int errlen)
{
	int ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		ERRF("rte_eal_init: %s", rte_strerror(rte_errno));
		return -1;
	}
	if (rte_eal_process_type() != RTE_PROC_SECONDARY) {
		ERRF("EAL came up as a primary: is mrzcpd running with this --file-prefix?");
		rte_eal_cleanup();
		return -1;
	}
	return 0;
}

void e2e_eal_cleanup(void) { rte_eal_cleanup(); }

/* One synchronous request to the primary; *out gets the single reply. */
static int mp_request(const char *name, const void *param, int len, const int *fds, int nfds,
		      struct rte_mp_msg *out, char *err, int errlen)
{
	struct rte_mp_msg req;
	struct rte_mp_reply rep;
	struct timespec ts = {.tv_sec = 5, .tv_nsec = 0};

	memset(&req, 0, sizeof(req));
	rte_strlcpy(req.name, name, sizeof(req.name));
	req.len_param = len;
	memcpy(req.param, param, len);
	req.num_fds = nfds;
	for (int i = 0; i < nfds; i++)
		req.fds[i] = fds[i];
	memset(&rep, 0, sizeof(rep));
	if (rte_mp_request_sync(&req, &rep, &ts) < 0) {
		ERRF("%s: rte_mp_request_sync: %s", name, rte_strerror(rte_errno));
		return -1;
	}
	if (rep.nb_received != 1) {
		ERRF("%s: %d replies", name, rep.nb_received);
		free(rep.msgs);
		return -1;
	}
	*out = rep.msgs[0];
	free(rep.msgs);
	return 0;
}

int e2e_attach(const char *appsym, const char *devsym, struct e2e_session *s, char *err, int errlen)
{
	int sp[2];
	struct rte_mp_msg rep;

	memset(s, 0, sizeof(*s));
	s->sock = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		ERRF("socketpair: %s", strerror(errno));
		return -1;
	}
	struct mr_msg_register_req reg;
	memset(&reg, 0, sizeof(reg));
	reg.abi_version = MR_ABI_VERSION;
	reg.pid = getpid();
	reg.nr_threads = 1;
	reg.cache_size = 0; /* the loop never allocates */
	rte_strlcpy(reg.appsym, appsym, sizeof(reg.appsym));
	int ret = mp_request(MR_MSG_REGISTER, &reg, sizeof(reg), &sp[1], 1, &rep, err, errlen);
	close(sp[1]); /* the daemon holds its own copy now */
	if (ret != 0) {
		close(sp[0]);
		return -1;
	}
	const struct mr_msg_register_rep *rr = (const void *)rep.param;
	if (rr->errcode != MR_OK) {
		ERRF("%s: error %d: %s", MR_MSG_REGISTER, rr->errcode, rr->strerr);
		close(sp[0]);
		return -1;
	}
	s->sock = sp[0];
	s->slot = rr->slot;
	s->generation = rr->generation;
	const struct mr_root *root = (const void *)(uintptr_t)rr->root;
	if (root->magic != MR_ABI_MAGIC || root->abi_version != MR_ABI_VERSION) {
		ERRF("root object at %p: magic %#x, ABI %u", (const void *)root, root->magic, root->abi_version);
		return -1;
	}
	s->owner_off = root->owner_dynfield_offset;

	struct mr_msg_vdev_open_req op;
	memset(&op, 0, sizeof(op));
	op.slot = s->slot;
	op.pid = getpid();
	op.generation = s->generation;
	op.nr_rxstream = 1;
	op.nr_txstream = 1;
	rte_strlcpy(op.devsym, devsym, sizeof(op.devsym));
	rte_strlcpy(op.appsym, appsym, sizeof(op.appsym));
	if (mp_request(MR_MSG_VDEV_OPEN, &op, sizeof(op), NULL, 0, &rep, err, errlen) != 0)
		return -1;
	for (int i = 0; i < rep.num_fds; i++)
		close(rep.fds[i]); /* rx eventfds: this loop polls */
	const struct mr_msg_vdev_open_rep *orp = (const void *)rep.param;
	if (orp->errcode != MR_OK) {
		ERRF("%s %s: error %d: %s", MR_MSG_VDEV_OPEN, devsym, orp->errcode, orp->strerr);
		return -1;
	}
	const struct mr_vdev_instance *vi = (const void *)(uintptr_t)orp->instance;
	s->vdev_index = orp->vdev_index;
	s->rx_ring = (uintptr_t)vi->rx[0].ring;
	s->tx_ring = (uintptr_t)vi->tx[0].ring;
	return 0;
}

int e2e_detach(struct e2e_session *s, char *err, int errlen)
{
	struct rte_mp_msg rep;
	int ret = 0;

	if (s->sock < 0)
		return 0;
	if (s->rx_ring != 0) {
		struct mr_msg_vdev_close_req cl = {.slot = s->slot, .vdev_index = s->vdev_index,
						   .generation = s->generation};
		if (mp_request(MR_MSG_VDEV_CLOSE, &cl, sizeof(cl), NULL, 0, &rep, err, errlen) != 0)
			ret = -1;
		s->rx_ring = s->tx_ring = 0;
	}
	struct mr_msg_deregister_req dr = {.slot = s->slot, .pid = getpid(), .generation = s->generation};
	if (mp_request(MR_MSG_DEREGISTER, &dr, sizeof(dr), NULL, 0, &rep, err, errlen) != 0)
		ret = -1;
	close(s->sock);
	s->sock = -1;
	return ret;
}

/* Frees one mbuf the way the library does: owner tag cleared first, then
 * straight into the pool's ring (ring_mp_mc ops; the ops index is per
 * process, so the ring is used, not the ops table). */
static inline void free_pkt(struct rte_mbuf *m, int32_t owner_off)
{
	*RTE_MBUF_DYNFIELD(m, owner_off, uint32_t *) = 0;
	m = rte_pktmbuf_prefree_seg(m);
	if (m != NULL)
		rte_ring_mp_enqueue((struct rte_ring *)m->pool->pool_data, m);
}

/* The touch: read the IPv4 4-tuple of an untagged Ethernet frame and fold it
 * into a sum (internal/e2eref Touch is the same in Go). */
static inline void touch(const struct rte_mbuf *m, struct e2e_stats *st)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len;
	if (len < 34 || p[12] != 0x08 || p[13] != 0x00)
		return;
	uint32_t ihl = (uint32_t)(p[14] & 0x0f) * 4;
	uint32_t src, dst, ports = 0;
	memcpy(&src, p + 26, 4);
	memcpy(&dst, p + 30, 4);
	uint8_t proto = p[23];
	if ((proto == 6 || proto == 17) && len >= 14 + ihl + 4)
		memcpy(&ports, p + 14 + ihl, 4);
	st->sum += src ^ dst ^ ports;
	st->ipv4++;
}

uint64_t e2e_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

uint64_t e2e_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

void e2e_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000u, .tv_nsec = ns % 1000000000u};
	nanosleep(&ts, NULL);
}

/* Idle sleeps as short as asked (the default slack is 50 us). */
void e2e_set_timerslack(void) { prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); }

uint64_t e2e_sleep_calibrate(int n, uint64_t ns)
{
	uint64_t t = e2e_mono_ns();
	for (int i = 0; i < n; i++)
		e2e_sleep_ns(ns);
	return (e2e_mono_ns() - t) / n;
}

void e2e_run_c_begin(struct e2e_cstate *cs, uint64_t warm_ns, uint64_t dur_ns)
{
	memset(cs, 0, sizeof(*cs));
	cs->dur_ns = dur_ns;
	cs->deadline = e2e_mono_ns() + warm_ns;
	cs->c = &cs->warm;
}

int e2e_run_c_step(const struct e2e_session *s, uint32_t burst, struct e2e_cstate *cs)
{
	struct rte_ring *rx = (struct rte_ring *)s->rx_ring;
	struct rte_ring *tx = (struct rte_ring *)s->tx_ring;
	struct rte_mbuf *pkts[E2E_MAX_BURST];
	struct e2e_stats *c = cs->c;

	if (burst > E2E_MAX_BURST)
		burst = E2E_MAX_BURST;
	for (;;) {
		unsigned n = rte_ring_dequeue_burst(rx, (void **)pkts, burst, NULL);
		if (n == 0 || (++cs->iter & 255) == 0) {
			uint64_t t = e2e_mono_ns();
			if (t >= cs->deadline) {
				if (cs->counting) {
					cs->st.cpu_ns = e2e_thread_cpu_ns() - cs->cpu0;
					cs->st.wall_ns = e2e_mono_ns() - cs->wall0;
					return 0;
				}
				cs->counting = 1;
				c = cs->c = &cs->st;
				cs->wall0 = t;
				cs->cpu0 = e2e_thread_cpu_ns();
				cs->deadline = t + cs->dur_ns;
			}
			if (n == 0)
				return 1; /* the caller sleeps (e2e_run_c_slept) and calls again */
		}
		for (unsigned i = 0; i < n; i++)
			touch(pkts[i], c);
		unsigned k = rte_ring_enqueue_burst(tx, (void **)pkts, n, NULL);
		for (unsigned i = k; i < n; i++)
			free_pkt(pkts[i], s->owner_off);
		c->tx_drops += n - k;
		c->pkts += n;
	}
}

void e2e_run_c_slept(struct e2e_cstate *cs, uint64_t cpu_ns, uint64_t wall_ns)
{
	cs->c->sleep_cpu_ns += cpu_ns;
	cs->c->sleep_wall_ns += wall_ns;
	cs->c->sleeps++;
}

unsigned e2e_dequeue_burst(uintptr_t ring, uintptr_t *objs, unsigned n)
{
	return rte_ring_dequeue_burst((struct rte_ring *)ring, (void **)objs, n, NULL);
}

unsigned e2e_enqueue_burst(uintptr_t ring, int32_t owner_off, uintptr_t *objs, unsigned n)
{
	unsigned k = rte_ring_enqueue_burst((struct rte_ring *)ring, (void **)objs, n, NULL);
	for (unsigned i = k; i < n; i++)
		free_pkt((struct rte_mbuf *)objs[i], owner_off);
	return k;
}

int e2e_dequeue(uintptr_t ring, uintptr_t *obj)
{
	return rte_ring_dequeue((struct rte_ring *)ring, (void **)obj) == 0 ? 0 : -1;
}

int e2e_enqueue(uintptr_t ring, int32_t owner_off, uintptr_t obj)
{
	if (rte_ring_enqueue((struct rte_ring *)ring, (void *)obj) == 0)
		return 0;
	free_pkt((struct rte_mbuf *)obj, owner_off);
	return -1;
}
