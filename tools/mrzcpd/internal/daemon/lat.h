/* lat.h — port rx to port tx latency (struct mr_lat_hist of the ABI): the
 * rx burst stamp and the tx histogram update, inline for dp.c's data path.
 * Cost: one TSC read per rx burst, one per tx dequeue, one bucket
 * increment per packet sent. */
#ifndef MRZCPD_LAT_H
#define MRZCPD_LAT_H

#include <stdint.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include "mrzcpd_abi.h"

extern int mr_rxtsc_off; /* dynfield offset of MR_RXTSC_DYNFIELD, -1 until registered */

/* mr_lat_register registers MR_RXTSC_DYNFIELD and publishes its offset and
 * the TSC frequency in r. Returns the offset or -rte_errno. */
int mr_lat_register(struct mr_root *r);

static inline uint32_t mr_lat_bucket(uint64_t v)
{
	if (v < (1u << MR_LAT_SUB_BITS))
		return (uint32_t)v;
	uint32_t e = 63 - (uint32_t)__builtin_clzll(v);
	return ((e - MR_LAT_SUB_BITS + 1) << MR_LAT_SUB_BITS) +
	       (uint32_t)((v >> (e - MR_LAT_SUB_BITS)) & ((1u << MR_LAT_SUB_BITS) - 1));
}

/* mr_lat_stamp stamps the n mbufs of one port rx burst with one TSC read. */
static inline void mr_lat_stamp(struct rte_mbuf **pkts, uint16_t n)
{
	if (mr_rxtsc_off < 0 || n == 0)
		return;
	uint64_t now = rte_rdtsc();
	for (uint16_t i = 0; i < n; i++)
		*RTE_MBUF_DYNFIELD(pkts[i], mr_rxtsc_off, uint64_t *) = now;
}

/* mr_lat_count counts now - stamp of the n mbufs about to go to the port in
 * h (stamp 0: never received by the daemon, not counted). */
static inline void mr_lat_count(struct mr_lat_hist *h, struct rte_mbuf **pkts, unsigned n)
{
	if (mr_rxtsc_off < 0 || h == NULL || n == 0)
		return;
	uint64_t now = rte_rdtsc(), cnt = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t st = *RTE_MBUF_DYNFIELD(pkts[i], mr_rxtsc_off, uint64_t *);
		if (st == 0)
			continue;
		h->buckets[mr_lat_bucket(now > st ? now - st : 0)]++;
		cnt++;
	}
	h->count += cnt;
}

#endif
