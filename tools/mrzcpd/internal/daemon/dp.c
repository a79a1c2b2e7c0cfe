/* dp.c — see dp.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_pdump.h>
#include <rte_ring.h>
#include <rte_string_fns.h>
#include <rte_version.h>

#include "dp.h"
#include "lat.h"
#include "_cgo_export.h"

static struct mr_root *g_root;
static int g_owner_off = -1;
static struct rte_mempool *g_pools[MR_MAX_POOLS];
/* Address range of each pool's objects, to validate pointers read from a
 * dead app's caches before putting them back. */
static uintptr_t g_pool_lo[MR_MAX_POOLS], g_pool_hi[MR_MAX_POOLS];

#define OWNER(m) (*RTE_MBUF_DYNFIELD((m), g_owner_off, uint32_t *))

static void seterr(char *err, int errlen, const char *fmt, const char *a, int e)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, fmt, a, rte_strerror(e));
}

int mr_eal_init(int argc, char **argv)
{
	int ret = rte_eal_init(argc, argv);
	return ret < 0 ? -rte_errno : ret;
}

int mr_eal_cleanup(void) { return rte_eal_cleanup(); }

const char *mr_strerror_last(void) { return rte_strerror(rte_errno); }

int mr_owner_register(void)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = MR_OWNER_DYNFIELD,
		.size = sizeof(uint32_t),
		.align = __alignof__(uint32_t),
	};
	g_owner_off = rte_mbuf_dynfield_register(&desc);
	return g_owner_off < 0 ? -rte_errno : g_owner_off;
}

int mr_owner_offset(void) { return g_owner_off; }

struct mr_root *mr_root_create(void)
{
	const struct rte_memzone *mz = rte_memzone_reserve_aligned(
		MR_ROOT_MEMZONE, sizeof(struct mr_root), SOCKET_ID_ANY, 0, RTE_CACHE_LINE_SIZE);
	if (mz == NULL)
		return NULL;
	memset(mz->addr, 0, sizeof(struct mr_root));
	g_root = mz->addr;
	mr_lat_register(g_root); /* failure: rxtsc_dynfield_offset -1, no latency histogram */
	return g_root;
}

struct mr_root *mr_root(void) { return g_root; }

static void range_cb(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	uintptr_t *lohi = arg;
	uintptr_t o = (uintptr_t)obj;
	(void)mp;
	(void)idx;
	if (o < lohi[0])
		lohi[0] = o;
	if (o + 1 > lohi[1])
		lohi[1] = o + 1;
}

int mr_pool_create(uint32_t idx, const char *name, uint32_t n, uint32_t cache, uint32_t priv,
		   uint32_t data_room, int socket, char *err, int errlen)
{
	if (idx >= MR_MAX_POOLS)
		return -EINVAL;
	struct rte_mempool *mp = rte_pktmbuf_pool_create_by_ops(
		name, n, cache, priv, data_room, socket < 0 ? SOCKET_ID_ANY : socket, "ring_mp_mc");
	if (mp == NULL) {
		seterr(err, errlen, "rte_pktmbuf_pool_create_by_ops(%s, ring_mp_mc): %s", name, rte_errno);
		return -rte_errno;
	}
	g_pools[idx] = mp;
	uintptr_t lohi[2] = {UINTPTR_MAX, 0};
	rte_mempool_obj_iter(mp, range_cb, lohi);
	g_pool_lo[idx] = lohi[0];
	g_pool_hi[idx] = lohi[1];
	struct mr_pool_desc *pd = &g_root->pools[idx];
	rte_strlcpy(pd->name, name, sizeof(pd->name));
	pd->mempool = (uint64_t)(uintptr_t)mp;
	pd->size = n;
	pd->data_room = rte_pktmbuf_data_room_size(mp);
	pd->priv_size = rte_pktmbuf_priv_size(mp);
	pd->socket_id = (uint32_t)mp->socket_id;
	return 0;
}

struct rte_mempool *mr_pool(uint32_t idx) { return idx < MR_MAX_POOLS ? g_pools[idx] : NULL; }

uint32_t mr_pool_avail(uint32_t idx)
{
	return g_pools[idx] ? rte_mempool_avail_count(g_pools[idx]) : 0;
}

int mr_pool_ring_ends(uint32_t idx, struct mr_ring_ends *e)
{
	if (idx >= MR_MAX_POOLS || g_pools[idx] == NULL || g_pools[idx]->pool_data == NULL)
		return -1;
	const struct rte_ring *r = g_pools[idx]->pool_data;
	e->prod_head = __atomic_load_n(&r->prod.head, __ATOMIC_RELAXED);
	e->prod_tail = __atomic_load_n(&r->prod.tail, __ATOMIC_RELAXED);
	e->cons_head = __atomic_load_n(&r->cons.head, __ATOMIC_RELAXED);
	e->cons_tail = __atomic_load_n(&r->cons.tail, __ATOMIC_RELAXED);
	return 0;
}

int mr_dev_probe(const char *devargs, char *err, int errlen)
{
	int ret = rte_dev_probe(devargs);
	if (ret != 0)
		seterr(err, errlen, "rte_dev_probe(%s): %s", devargs, -ret);
	return ret;
}

int mr_port_setup(const char *devname, uint16_t nb_rxq, uint16_t nb_txq, uint16_t rx_desc,
		  uint16_t tx_desc, uint32_t pool_idx, int promisc, uint32_t mtu,
		  struct mr_port_info *info, char *err, int errlen)
{
	uint16_t pid;
	int ret = rte_eth_dev_get_port_by_name(devname, &pid);
	if (ret != 0) {
		seterr(err, errlen, "no ethdev named %s (device not probed?): %s", devname, -ret);
		return ret;
	}
	struct rte_eth_dev_info di;
	ret = rte_eth_dev_info_get(pid, &di);
	if (ret != 0) {
		seterr(err, errlen, "rte_eth_dev_info_get(%s): %s", devname, -ret);
		return ret;
	}
	if (nb_rxq > di.max_rx_queues || nb_txq > di.max_tx_queues) {
		if (err)
			snprintf(err, errlen, "%s supports at most %u rx / %u tx queues", devname,
				 di.max_rx_queues, di.max_tx_queues);
		return -EINVAL;
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(pid, nb_rxq, nb_txq, &conf);
	if (ret != 0) {
		seterr(err, errlen, "rte_eth_dev_configure(%s): %s", devname, -ret);
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rx_desc, &tx_desc);
	if (ret != 0) {
		seterr(err, errlen, "rte_eth_dev_adjust_nb_rx_tx_desc(%s): %s", devname, -ret);
		return ret;
	}
	int socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	for (uint16_t q = 0; q < nb_rxq; q++) {
		ret = rte_eth_rx_queue_setup(pid, q, rx_desc, socket, NULL, g_pools[pool_idx]);
		if (ret != 0) {
			seterr(err, errlen, "rte_eth_rx_queue_setup(%s): %s", devname, -ret);
			return ret;
		}
	}
	for (uint16_t q = 0; q < nb_txq; q++) {
		ret = rte_eth_tx_queue_setup(pid, q, tx_desc, socket, NULL);
		if (ret != 0) {
			seterr(err, errlen, "rte_eth_tx_queue_setup(%s): %s", devname, -ret);
			return ret;
		}
	}
	if (mtu != 0) {
		ret = rte_eth_dev_set_mtu(pid, mtu);
		if (ret != 0) {
			seterr(err, errlen, "rte_eth_dev_set_mtu(%s): %s", devname, -ret);
			return ret;
		}
	}
	ret = rte_eth_dev_start(pid);
	if (ret != 0) {
		seterr(err, errlen, "rte_eth_dev_start(%s): %s", devname, -ret);
		return ret;
	}
	if (promisc)
		rte_eth_promiscuous_enable(pid); /* not every PMD supports it */
	struct rte_ether_addr mac;
	memset(&mac, 0, sizeof(mac));
	rte_eth_macaddr_get(pid, &mac);
	info->port_id = pid;
	memcpy(info->mac, mac.addr_bytes, 6);
	uint16_t m = 0;
	rte_eth_dev_get_mtu(pid, &m);
	info->mtu = m;
	rte_strlcpy(info->driver, di.driver_name ? di.driver_name : "", sizeof(info->driver));
	return 0;
}

void mr_port_stop(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}

int mr_port_stats(uint16_t port_id, struct mr_port_stats *st)
{
	struct rte_eth_stats s;
	int ret = rte_eth_stats_get(port_id, &s);
	if (ret != 0)
		return ret;
	st->ipackets = s.ipackets;
	st->opackets = s.opackets;
	st->ibytes = s.ibytes;
	st->obytes = s.obytes;
	st->imissed = s.imissed;
	st->ierrors = s.ierrors;
	st->oerrors = s.oerrors;
	st->rx_nombuf = s.rx_nombuf;
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	rte_eth_link_get_nowait(port_id, &link);
	st->link_up = link.link_status;
	return 0;
}

int mr_thread_register(void) { return rte_thread_register() == 0 ? (int)rte_lcore_id() : -rte_errno; }
void mr_thread_unregister(void) { rte_thread_unregister(); }
const char *mr_runtime_dir(void) { return rte_eal_get_runtime_dir(); }
const char *mr_dpdk_version(void) { return rte_version(); }

int mr_pdump_init(void) { return rte_pdump_init(); }
int mr_pdump_uninit(void) { return rte_pdump_uninit(); }

/* Every control action goes to Go (mrGoAction), which replies with mr_reply. */
static int mr_action_cb(const struct rte_mp_msg *msg, const void *peer)
{
	return mrGoAction((struct rte_mp_msg *)msg, (char *)peer);
}

static const char *const g_actions[] = {MR_MSG_REGISTER, MR_MSG_DEREGISTER, MR_MSG_VDEV_OPEN,
					 MR_MSG_VDEV_FDS, MR_MSG_VDEV_CLOSE};

int mr_actions_register(void)
{
	for (unsigned i = 0; i < RTE_DIM(g_actions); i++) {
		if (rte_mp_action_register(g_actions[i], mr_action_cb) != 0)
			return -rte_errno;
	}
	return 0;
}

void mr_actions_unregister(void)
{
	for (unsigned i = 0; i < RTE_DIM(g_actions); i++)
		rte_mp_action_unregister(g_actions[i]);
}

int mr_reply(const struct rte_mp_msg *req, const void *param, int len, const int *fds, int nfds,
	     const char *peer)
{
	struct rte_mp_msg r;
	memset(&r, 0, sizeof(r));
	rte_strlcpy(r.name, req->name, sizeof(r.name));
	if (len > RTE_MP_MAX_PARAM_LEN || nfds > RTE_MP_MAX_FD_NUM)
		return -EINVAL;
	r.len_param = len;
	memcpy(r.param, param, len);
	r.num_fds = nfds;
	for (int i = 0; i < nfds; i++)
		r.fds[i] = fds[i];
	return rte_mp_reply(&r, peer) == 0 ? 0 : -rte_errno;
}

static size_t cache_stride(void)
{
	return RTE_ALIGN_CEIL(sizeof(struct rte_mempool_cache), RTE_CACHE_LINE_SIZE);
}

struct mr_app_zone *mr_app_zone_create(uint32_t slot, uint32_t nr_threads, uint32_t nr_pools,
				       uint32_t cache_size)
{
	char name[RTE_MEMZONE_NAMESIZE];
	snprintf(name, sizeof(name), "mrapp_%u", slot);
	size_t hdr = RTE_ALIGN_CEIL(sizeof(struct mr_app_zone), RTE_CACHE_LINE_SIZE);
	size_t len = hdr + (size_t)nr_threads * nr_pools * cache_stride();
	const struct rte_memzone *mz =
		rte_memzone_reserve_aligned(name, len, SOCKET_ID_ANY, 0, RTE_CACHE_LINE_SIZE);
	if (mz == NULL)
		return NULL;
	memset(mz->addr, 0, len);
	struct mr_app_zone *z = mz->addr;
	z->slot = slot;
	z->nr_threads = nr_threads;
	z->nr_pools = nr_pools;
	z->cache_size = cache_size;
	z->caches = (uint64_t)(uintptr_t)((char *)mz->addr + hdr);
	z->cache_stride = cache_stride();
	for (uint32_t i = 0; i < nr_threads * nr_pools; i++) {
		struct rte_mempool_cache *c =
			(void *)((char *)mz->addr + hdr + (size_t)i * cache_stride());
		c->size = cache_size;
		c->flushthresh = cache_size * 3 / 2; /* CALC_CACHE_FLUSHTHRESH (1.5) */
		c->len = 0;
	}
	return z;
}

void mr_app_zone_free(uint32_t slot)
{
	char name[RTE_MEMZONE_NAMESIZE];
	snprintf(name, sizeof(name), "mrapp_%u", slot);
	const struct rte_memzone *mz = rte_memzone_lookup(name);
	if (mz != NULL)
		rte_memzone_free(mz);
}

struct mr_vdev_instance *mr_vdev_instance_create(uint32_t vdev, uint32_t slot, uint64_t generation,
						 uint32_t nr_rx, uint32_t nr_tx, uint32_t ring_size,
						 char *err, int errlen)
{
	char name[RTE_MEMZONE_NAMESIZE];
	snprintf(name, sizeof(name), "mrvdi_%u", vdev);
	const struct rte_memzone *mz = rte_memzone_reserve_aligned(
		name, sizeof(struct mr_vdev_instance), SOCKET_ID_ANY, 0, RTE_CACHE_LINE_SIZE);
	if (mz == NULL) {
		seterr(err, errlen, "memzone %s: %s", name, rte_errno);
		return NULL;
	}
	struct mr_vdev_instance *vi = mz->addr;
	memset(vi, 0, sizeof(*vi));
	vi->vdev_index = vdev;
	vi->app_slot = slot;
	vi->generation = generation;
	vi->ring_size = ring_size;
	for (uint32_t s = 0; s < nr_rx + nr_tx; s++) {
		int rx = s < nr_rx;
		uint32_t i = rx ? s : s - nr_rx;
		snprintf(name, sizeof(name), rx ? "mrrx_%u_%u" : "mrtx_%u_%u", vdev, i);
		struct rte_ring *r = rte_ring_create(name, ring_size, SOCKET_ID_ANY,
						     RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (r == NULL) {
			seterr(err, errlen, "ring %s: %s", name, rte_errno);
			vi->nr_rxstream = rx ? i : nr_rx;
			vi->nr_txstream = rx ? 0 : i;
			mr_vdev_instance_free(vi, NULL);
			return NULL;
		}
		if (rx)
			vi->rx[i].ring = (uint64_t)(uintptr_t)r;
		else
			vi->tx[i].ring = (uint64_t)(uintptr_t)r;
	}
	vi->nr_rxstream = nr_rx;
	vi->nr_txstream = nr_tx;
	__atomic_store_n(&vi->magic, MR_ABI_MAGIC, __ATOMIC_RELEASE); /* published last */
	return vi;
}

static uint64_t drain_ring(struct rte_ring *r, uint64_t *nbytes)
{
	struct rte_mbuf *objs[64];
	uint64_t n = 0;
	unsigned k;
	while ((k = rte_ring_dequeue_burst(r, (void **)objs, RTE_DIM(objs), NULL)) > 0) {
		for (unsigned i = 0; i < k; i++) {
			OWNER(objs[i]) = 0;
			if (nbytes)
				*nbytes += objs[i]->pkt_len;
		}
		rte_pktmbuf_free_bulk(objs, k);
		n += k;
	}
	return n;
}

void mr_vdev_instance_free(struct mr_vdev_instance *vi, struct mr_reclaim_stats *st)
{
	char name[RTE_MEMZONE_NAMESIZE];
	__atomic_store_n(&vi->magic, 0, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < vi->nr_rxstream; i++) {
		struct rte_ring *r = (void *)(uintptr_t)vi->rx[i].ring;
		if (r == NULL)
			continue;
		uint64_t n = drain_ring(r, NULL);
		if (st)
			st->from_rx_rings += n;
		rte_ring_free(r);
		vi->rx[i].ring = 0;
	}
	for (uint32_t i = 0; i < vi->nr_txstream; i++) {
		struct rte_ring *r = (void *)(uintptr_t)vi->tx[i].ring;
		if (r == NULL)
			continue;
		uint64_t n = drain_ring(r, NULL);
		if (st)
			st->from_tx_rings += n;
		rte_ring_free(r);
		vi->tx[i].ring = 0;
	}
	snprintf(name, sizeof(name), "mrvdi_%u", vi->vdev_index);
	const struct rte_memzone *mz = rte_memzone_lookup(name);
	if (mz != NULL)
		rte_memzone_free(mz);
}

uint16_t mr_rx(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uintptr_t *addrs, uint16_t *lens,
	       uint16_t n)
{
	uint16_t nb = rte_eth_rx_burst(port, q, pkts, n);
	mr_lat_stamp(pkts, nb);
	for (uint16_t i = 0; i < nb; i++) {
		addrs[i] = (uintptr_t)rte_pktmbuf_mtod(pkts[i], void *);
		lens[i] = pkts[i]->data_len;
	}
	return nb;
}

void mr_drop_noapp(struct mr_vdev_desc *d, struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t bytes = 0;
	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	d->port_rx.pkts += n;
	d->port_rx.bytes += bytes;
	d->no_app.pkts += n;
	d->no_app.bytes += bytes;
	d->no_app.drops += n;
	d->drops.no_app += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

uint16_t mr_deliver(struct mr_vdev_desc *d, struct mr_vdev_instance *vi, struct rte_mbuf **pkts,
		    const uint32_t *streams, uint16_t n, const int *efds, uint16_t *refused)
{
	uint16_t nref = 0;
	uint16_t cnt[MR_MAX_STREAMS + 1] = {0};
	struct rte_mbuf *sorted[MR_DP_MAX_BURST];
	uint32_t nrx = vi->nr_rxstream;
	uint32_t tag = vi->app_slot + 1;
	uint64_t total = 0;

	/* Counting sort by stream keeps each stream's packets in arrival order. */
	for (uint16_t i = 0; i < n; i++)
		cnt[streams[i] + 1]++;
	for (uint32_t s = 1; s <= nrx; s++)
		cnt[s] += cnt[s - 1];
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		OWNER(m) = tag; /* set before the enqueue publishes it to the app */
		total += m->pkt_len;
		sorted[cnt[streams[i]]++] = m;
	}
	d->port_rx.pkts += n;
	d->port_rx.bytes += total;

	uint16_t start = 0;
	for (uint32_t s = 0; s < nrx && start < n; s++) {
		uint16_t end = cnt[s];
		uint16_t k = end - start;
		if (k == 0)
			continue;
		struct mr_rx_stream *rx = &vi->rx[s];
		struct rte_ring *r = (void *)(uintptr_t)rx->ring;
		unsigned done = rte_ring_sp_enqueue_burst(r, (void **)&sorted[start], k, NULL);
		uint64_t bytes = 0;
		for (unsigned i = 0; i < done; i++)
			bytes += sorted[start + i]->pkt_len;
		rx->daemon.pkts += done;
		rx->daemon.bytes += bytes;
		if (done < k) {
			for (unsigned i = done; i < k; i++)
				OWNER(sorted[start + i]) = 0;
			rte_pktmbuf_free_bulk(&sorted[start + done], k - done);
			rx->daemon.drops += k - done;
			d->drops.rx_ring_full += k - done;
			if (refused != NULL) {
				/* Tracing on: name the refused packets by their index
				 * in pkts. The sort kept arrival order, so they are
				 * stream s's packets of rank done and later. */
				unsigned rank = 0;
				for (uint16_t i = 0; i < n; i++) {
					if (streams[i] == s && rank++ >= done)
						refused[nref++] = i;
				}
			}
		}
		if (done > 0) {
			/* Wake-up without loss: enqueue (above), full fence, load
			 * sleeping; the app stores sleeping=1, full fence, re-checks
			 * the ring. At least one side sees the other. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (__atomic_load_n(&rx->sleeping, __ATOMIC_RELAXED) && efds[s] >= 0) {
				uint64_t one = 1;
				if (write(efds[s], &one, sizeof(one)) == sizeof(one))
					rx->daemon.events++;
			}
		}
		start = end;
	}
	return nref;
}

uint32_t mr_tx_drain(struct mr_vdev_desc *d, struct mr_vdev_instance *vi, uint16_t port, uint16_t q,
		     uint16_t burst)
{
	struct rte_mbuf *objs[MR_DP_MAX_BURST];
	uint32_t total = 0;
	if (burst > MR_DP_MAX_BURST)
		burst = MR_DP_MAX_BURST;
	for (uint32_t s = 0; s < vi->nr_txstream; s++) {
		struct mr_tx_stream *tx = &vi->tx[s];
		struct rte_ring *r = (void *)(uintptr_t)tx->ring;
		unsigned n = rte_ring_sc_dequeue_burst(r, (void **)objs, burst, NULL);
		if (n == 0)
			continue;
		uint64_t bytes = 0;
		for (unsigned i = 0; i < n; i++) {
			OWNER(objs[i]) = 0; /* the daemon holds it from here on */
			bytes += objs[i]->pkt_len;
		}
		mr_lat_count(&g_root->lat[d - g_root->vdevs], objs, n);
		uint16_t sent = rte_eth_tx_burst(port, q, objs, n);
		if (sent < n) {
			uint64_t dbytes = 0;
			for (unsigned i = sent; i < n; i++)
				dbytes += objs[i]->pkt_len;
			rte_pktmbuf_free_bulk(&objs[sent], n - sent);
			tx->daemon.drops += n - sent;
			d->port_tx.drops += n - sent;
			d->drops.port_tx_refused += n - sent;
			bytes -= dbytes;
		}
		tx->daemon.pkts += sent;
		tx->daemon.bytes += bytes;
		d->port_tx.pkts += sent;
		d->port_tx.bytes += bytes;
		total += n;
	}
	return total;
}

static int obj_ok(uint32_t p, void *obj)
{
	uintptr_t o = (uintptr_t)obj;
	if (o < g_pool_lo[p] || o >= g_pool_hi[p])
		return 0;
	return ((struct rte_mbuf *)obj)->pool == g_pools[p];
}

void mr_app_flush_caches(struct mr_app_zone *z, uint32_t slot, struct mr_reclaim_stats *st)
{
	uint32_t np = z->nr_pools;
	for (uint32_t t = 0; t < z->nr_threads; t++) {
		for (uint32_t p = 0; p < np && p < MR_MAX_POOLS; p++) {
			struct rte_mempool_cache *c =
				(void *)(uintptr_t)(z->caches + (t * np + p) * z->cache_stride);
			uint32_t len = c->len;
			if (len > RTE_MEMPOOL_CACHE_MAX_SIZE * 2)
				len = RTE_MEMPOOL_CACHE_MAX_SIZE * 2; /* torn by a crash */
			if (g_pools[p] == NULL)
				continue;
			void *ok[64];
			unsigned nok = 0;
			for (uint32_t i = 0; i < len; i++) {
				void *obj = c->objs[i];
				if (!obj_ok(p, obj)) {
					st->bad_objects++;
					continue;
				}
				/* A cached mbuf is free: its tag must not make the
				 * tag scan free it a second time. */
				struct rte_mbuf *m = obj;
				if (OWNER(m) == slot + 1)
					OWNER(m) = 0;
				ok[nok++] = obj;
				if (nok == RTE_DIM(ok)) {
					rte_mempool_ops_enqueue_bulk(g_pools[p], ok, nok);
					st->from_caches += nok;
					nok = 0;
				}
			}
			if (nok > 0) {
				rte_mempool_ops_enqueue_bulk(g_pools[p], ok, nok);
				st->from_caches += nok;
			}
			c->len = 0;
		}
	}
}

struct tag_arg {
	uint32_t tag;
	uint64_t n;
	int free;
};

static void tag_cb(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct tag_arg *a = arg;
	struct rte_mbuf *m = obj;
	(void)idx;
	if (OWNER(m) != a->tag)
		return;
	a->n++;
	if (!a->free)
		return;
	/* Back to the state rte_pktmbuf_pool_create left it in (this also
	 * zeroes the dynfields, so the tag), then into the pool's ring: the
	 * calling thread is not an lcore, so no per-lcore cache is used. */
	rte_pktmbuf_init(mp, NULL, m, 0);
	rte_mempool_put(mp, m);
}

void mr_app_reclaim_tags(uint32_t slot, struct mr_reclaim_stats *st)
{
	struct tag_arg a = {.tag = slot + 1, .free = 1};
	for (uint32_t p = 0; p < MR_MAX_POOLS; p++) {
		if (g_pools[p] != NULL)
			rte_mempool_obj_iter(g_pools[p], tag_cb, &a);
	}
	st->from_tags += a.n;
}

uint64_t mr_count_tagged(uint32_t slot)
{
	struct tag_arg a = {.tag = slot + 1};
	for (uint32_t p = 0; p < MR_MAX_POOLS; p++) {
		if (g_pools[p] != NULL)
			rte_mempool_obj_iter(g_pools[p], tag_cb, &a);
	}
	return a.n;
}

void mr_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

uint64_t mr_now_realtime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t mr_now_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
