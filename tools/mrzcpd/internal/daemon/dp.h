/* dp.h — the daemon's C side: EAL, pools, ports, shared objects of the ABI
 * (gen/abi/mrzcpd_abi.h), the per-burst dataplane steps and the reclaim of
 * a dead application's mbufs. Go calls these through cgo (one call per
 * burst on the dataplane); the control logic lives in Go. */
#ifndef MRZCPD_DP_H
#define MRZCPD_DP_H

#include <stdint.h>
#include <rte_config.h>
#include <rte_mbuf.h>
#include <rte_eal.h>
#include "mrzcpd_abi.h"

#define MR_DP_MAX_BURST 512

struct mr_port_info {
	uint16_t port_id;
	uint8_t mac[6];
	uint32_t mtu;
	char driver[64];
};

struct mr_port_stats {
	uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
	int link_up;
};

struct mr_reclaim_stats {
	uint64_t from_rx_rings;
	uint64_t from_tx_rings;
	uint64_t from_caches;
	uint64_t from_tags;
	uint64_t bad_objects; /* cache entries that were not mbufs of the pool: skipped */
};

int mr_eal_init(int argc, char **argv);
int mr_eal_cleanup(void);
int mr_owner_register(void);
int mr_owner_offset(void);
struct mr_root *mr_root_create(void);
struct mr_root *mr_root(void);
int mr_pool_create(uint32_t idx, const char *name, uint32_t n, uint32_t cache, uint32_t priv,
		   uint32_t data_room, int socket, char *err, int errlen);
struct rte_mempool *mr_pool(uint32_t idx);
uint32_t mr_pool_avail(uint32_t idx);

/* The head and tail of both ends of a pool's ring (pool_data of its
 * ring_mp_mc ops), read without taking part in the ring's protocol: for the
 * stall watchdog's diagnosis. Returns -1 when there is no such pool. */
struct mr_ring_ends {
	uint32_t prod_head, prod_tail, cons_head, cons_tail;
};
int mr_pool_ring_ends(uint32_t idx, struct mr_ring_ends *e);
int mr_dev_probe(const char *devargs, char *err, int errlen);
int mr_port_setup(const char *devname, uint16_t nb_rxq, uint16_t nb_txq, uint16_t rx_desc,
		  uint16_t tx_desc, uint32_t pool_idx, int promisc, uint32_t mtu,
		  struct mr_port_info *info, char *err, int errlen);
void mr_port_stop(uint16_t port_id);
int mr_port_stats(uint16_t port_id, struct mr_port_stats *st);
int mr_thread_register(void);
void mr_thread_unregister(void);
const char *mr_runtime_dir(void);
const char *mr_dpdk_version(void);
int mr_pdump_init(void);
int mr_pdump_uninit(void);
int mr_actions_register(void);
void mr_actions_unregister(void);
int mr_reply(const struct rte_mp_msg *req, const void *param, int len, const int *fds, int nfds,
	     const char *peer);
const char *mr_strerror_last(void);

/* Per-application objects. */
struct mr_app_zone *mr_app_zone_create(uint32_t slot, uint32_t nr_threads, uint32_t nr_pools,
				       uint32_t cache_size);
void mr_app_zone_free(uint32_t slot);

/* Per-vdev instance objects. */
struct mr_vdev_instance *mr_vdev_instance_create(uint32_t vdev, uint32_t slot, uint64_t generation,
						 uint32_t nr_rx, uint32_t nr_tx, uint32_t ring_size,
						 char *err, int errlen);
/* Drains every ring of the instance (freeing the mbufs), frees rings and the memzone. */
void mr_vdev_instance_free(struct mr_vdev_instance *vi, struct mr_reclaim_stats *st);

/* Dataplane (one call per burst). */
uint16_t mr_rx(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uintptr_t *addrs, uint16_t *lens,
	       uint16_t n);
/* mr_deliver enqueues pkts to the rx streams streams[i]; the ones a full ring
 * refuses are freed and counted. refused: NULL (tracing off), or room for n
 * indices into pkts: the refused packets' indices are stored there and their
 * number returned (0 when refused is NULL). */
uint16_t mr_deliver(struct mr_vdev_desc *d, struct mr_vdev_instance *vi, struct rte_mbuf **pkts,
		    const uint32_t *streams, uint16_t n, const int *efds, uint16_t *refused);
void mr_drop_noapp(struct mr_vdev_desc *d, struct rte_mbuf **pkts, uint16_t n);
uint32_t mr_tx_drain(struct mr_vdev_desc *d, struct mr_vdev_instance *vi, uint16_t port, uint16_t q,
		     uint16_t burst);

/* Reclaim of a dead application. */
void mr_app_flush_caches(struct mr_app_zone *z, uint32_t slot, struct mr_reclaim_stats *st);
void mr_app_reclaim_tags(uint32_t slot, struct mr_reclaim_stats *st);
uint64_t mr_count_tagged(uint32_t slot);

void mr_fence(void);
uint64_t mr_now_realtime(void);
uint64_t mr_now_monotonic(void);

#endif
