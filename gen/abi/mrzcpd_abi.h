/* mrzcpd_abi.h — the shared-memory and control-message ABI between mrzcpd
 * (the DPDK primary) and applications (package marsio).
 *
 * This header is the single source of truth for both sides: the daemon
 * compiles it, and gen/ mirrors every struct and constant below into
 * zz_generated/abi. Change it only together with MR_ABI_VERSION.
 *
 * Conventions
 *  - Plain C types with fixed sizes only; no DPDK types, so the layout does
 *    not depend on the DPDK version. Pointers into hugepage memory are
 *    stored as uint64_t virtual addresses (every process maps the primary's
 *    memory at the same addresses); readers validate them against the mapped
 *    segments before following them.
 *  - Every counter block is written by exactly one side ("W: daemon" or
 *    "W: app") and sits on its own cache line, so the two sides never write
 *    the same line.
 *  - Ordering: a field documented "published" is written last with a release
 *    store by its writer, and read first with an acquire load by the reader;
 *    everything written before it is visible once it is seen.
 *
 * Objects
 *  - The root object (struct mr_root) is the memzone MR_ROOT_MEMZONE, created
 *    first by the daemon and published by writing magic last.
 *  - Per registered application, a memzone "mrapp_<slot>" (struct mr_app_zone
 *    followed by its per-thread mempool caches).
 *  - Per opened vdev, a memzone "mrvdi_<vdev index>" (struct mr_vdev_instance)
 *    whose rings are named "mrrx_<vdev>_<stream>" / "mrtx_<vdev>_<stream>".
 *  - mbufs carry their owner in a DPDK dynamic field registered by the daemon
 *    as MR_OWNER_DYNFIELD (uint32_t): 0 while the daemon or a pool holds the
 *    mbuf, slot+1 while application <slot> holds it. The daemon sets it when
 *    it enqueues to an app's rx ring and clears it when it dequeues from an
 *    app's tx ring; the app sets it on alloc and clears it on free. After an
 *    app dies the daemon drains its rings, flushes its caches and frees every
 *    mbuf still tagged with its slot.
 */
#ifndef MRZCPD_ABI_H
#define MRZCPD_ABI_H

#include <stdint.h>

#define MR_ABI_MAGIC 0x4d525a43u /* "MRZC" */
#define MR_ABI_VERSION 2u
#define MR_ROOT_MEMZONE "mrzcpd_root"
#define MR_OWNER_DYNFIELD "mrzcpd_dynfield_owner"
#define MR_RXTSC_DYNFIELD "mrzcpd_dynfield_rxtsc" /* uint64_t: TSC of the port rx burst */

#define MR_SYMBOL_MAX 64     /* devsym, appsym, pool names (NUL included) */
#define MR_PATH_MAX 192      /* paths carried in messages */
#define MR_STRERR_MAX 128    /* error text carried in replies */
#define MR_MAX_VDEVS 32      /* vdevs per daemon */
#define MR_MAX_APPS 64       /* application slots */
#define MR_MAX_POOLS 8       /* MZ… mbuf pools */
#define MR_MAX_STREAMS 64    /* rx or tx streams per vdev instance */
#define MR_MAX_THREADS 64    /* dataplane threads per application */
#define MR_CACHE_LINE 64
#define MR_FDS_PER_MSG 8     /* fds per rte_mp message on every DPDK version */
#define MR_LAT_SUB_BITS 3    /* latency histogram: 2^3 linear sub-buckets per power of two */
#define MR_LAT_BUCKETS 496   /* (64 - MR_LAT_SUB_BITS + 1) << MR_LAT_SUB_BITS: covers every uint64_t */

/* enum mr_app_state: struct mr_app_slot.state */
#define MR_APP_FREE 0u
#define MR_APP_ACTIVE 1u
#define MR_APP_RECLAIMING 2u /* app died or deregistered; daemon returning its mbufs */

/* enum mr_vdev_state: struct mr_vdev_desc.state */
#define MR_VDEV_IDLE 0u /* no application has it open */
#define MR_VDEV_OPEN 1u

/* enum mr_distmode / mr_hashmode: struct mr_root.distmode, hashmode (the seed's [service] keys) */
#define MR_DIST_OUTER_TUPLE2 0u
#define MR_DIST_OUTER_TUPLE4 1u
#define MR_DIST_INNER_TUPLE2 2u
#define MR_DIST_INNER_TUPLE4 3u
#define MR_HASH_SYM_CRC 0u
#define MR_HASH_SYM_XXHASH 1u

/* Error codes carried in replies (negative errno values where one fits). */
#define MR_OK 0
#define MR_EABI 1000      /* ABI version mismatch */
#define MR_ENOSLOT 1001   /* no free application slot */
#define MR_ENODEV 1002    /* unknown devsym */
#define MR_EBUSY 1003     /* vdev already open by another application */
#define MR_EDENIED 1004   /* configuration does not allow this app on this vdev */
#define MR_EINVAL 1005    /* bad request field (stream count, thread count, cache size, …) */
#define MR_ENOMEM 1006    /* daemon could not allocate rings, memzones or eventfds */
#define MR_ENOTREG 1007   /* request from an unregistered slot/pid */

/* A counter block on its own cache line. */
struct mr_counters {
	uint64_t pkts;
	uint64_t bytes;
	uint64_t drops;   /* ring full (enqueue side) or refused by the port */
	uint64_t events;  /* wake-ups sent (daemon rx) / sleeps taken (app rx) */
	uint64_t spare[4];
} __attribute__((aligned(MR_CACHE_LINE)));

/* Packets dropped by the daemon, one counter per reason (ABI v2), on its
 * own cache line. W: daemon only. Per vdev (struct mr_vdev_desc.drops),
 * cumulative over the daemon's lifetime (survives app opens/closes). */
struct mr_drops {
	uint64_t rx_ring_full;     /* an rx stream ring was full (sum of the streams' daemon.drops) */
	uint64_t no_mbuf;          /* rte_eth_stats.rx_nombuf of the vdev's port (copied every status period) */
	uint64_t no_app;           /* received while no application had the vdev open */
	uint64_t filtered;         /* refused by a filter (reserved: the daemon has none yet, always 0) */
	uint64_t port_tx_refused;  /* the port's tx burst refused them (sum of the streams' daemon.drops) */
	uint64_t app_tx_ring_full; /* the app found a tx ring full (folded in from the streams' app.drops at close) */
	uint64_t malformed;        /* too short for distribution (reserved: such packets go to stream 0, always 0) */
	uint64_t spare;
} __attribute__((aligned(MR_CACHE_LINE)));

/* Port rx to port tx latency of one vdev's packets, in TSC ticks
 * (mr_root.tsc_hz per second), log2-linear: a value v < 2^MR_LAT_SUB_BITS
 * counts in bucket v; otherwise, with e = floor(log2 v), in bucket
 * ((e - MR_LAT_SUB_BITS + 1) << MR_LAT_SUB_BITS) + ((v >> (e - MR_LAT_SUB_BITS)) & (2^MR_LAT_SUB_BITS - 1)).
 * The daemon stamps every mbuf of a port rx burst with that burst's TSC
 * (dynfield MR_RXTSC_DYNFIELD) and, when it dequeues an mbuf from an app tx
 * ring for the port, counts now - stamp here. W: daemon only, cumulative
 * (readers diff two snapshots). Mbufs the app allocated itself carry a
 * stale stamp from an earlier rx (or 0: not counted). */
struct mr_lat_hist {
	uint64_t count;
	uint64_t spare[7];
	uint64_t buckets[MR_LAT_BUCKETS];
} __attribute__((aligned(MR_CACHE_LINE)));

/* A pool the daemon created (name starts with "MZ"). */
struct mr_pool_desc {
	char name[MR_SYMBOL_MAX];
	uint64_t mempool;   /* struct rte_mempool * */
	uint32_t size;      /* number of mbufs */
	uint32_t data_room; /* rte_pktmbuf_data_room_size */
	uint32_t priv_size;
	uint32_t socket_id;
} __attribute__((aligned(MR_CACHE_LINE)));

/* A virtual device: one port of the daemon exposed to one application. */
struct mr_vdev_desc {
	char devsym[MR_SYMBOL_MAX];
	uint16_t port_id;
	uint8_t mac[6];
	uint32_t mtu;
	uint32_t max_rxstream;
	uint32_t max_txstream;
	uint32_t ring_size;   /* slots of each stream ring */
	uint32_t pool_index;  /* index into mr_root.pools: where this vdev's rx mbufs come from */
	uint32_t state;       /* MR_VDEV_*; W: daemon */
	uint32_t owner_slot;  /* app slot holding it open when state == MR_VDEV_OPEN */
	uint64_t instance;    /* struct mr_vdev_instance * while open, else 0; published */
	/* W: daemon. Port side: received from the port, sent to the port. */
	struct mr_counters port_rx;
	struct mr_counters port_tx;
	/* W: daemon. Received but not delivered: no application has the vdev open. */
	struct mr_counters no_app;
	/* W: daemon. Drops by reason (ABI v2); appended last. */
	struct mr_drops drops;
} __attribute__((aligned(MR_CACHE_LINE)));

/* An application slot. W: daemon (the app only reads it). */
struct mr_app_slot {
	uint32_t state;       /* MR_APP_*; published */
	int32_t pid;
	uint64_t generation;  /* bumps every time the slot is (re)used */
	uint64_t register_ns; /* CLOCK_REALTIME of registration */
	uint64_t zone;        /* struct mr_app_zone * */
	char appsym[MR_SYMBOL_MAX];
	char monit_file[MR_PATH_MAX];
	uint32_t nr_threads;
	uint32_t cache_size;
} __attribute__((aligned(MR_CACHE_LINE)));

/* The root object, memzone MR_ROOT_MEMZONE. */
struct mr_root {
	uint32_t magic;        /* MR_ABI_MAGIC; published last at start-up */
	uint32_t abi_version;  /* MR_ABI_VERSION */
	uint32_t dpdk_version; /* RTE_VERSION the daemon was built with */
	int32_t daemon_pid;
	uint64_t start_ns;     /* CLOCK_REALTIME at start-up: tells a restarted daemon apart */
	uint32_t distmode;     /* MR_DIST_* */
	uint32_t hashmode;     /* MR_HASH_* */
	uint32_t hash_seed;
	int32_t owner_dynfield_offset; /* byte offset of MR_OWNER_DYNFIELD in struct rte_mbuf */
	uint32_t nr_pools;
	uint32_t nr_vdevs;
	uint64_t heartbeat_ns; /* W: daemon, every control-loop tick (CLOCK_MONOTONIC) */
	char g_cfgfile[MR_PATH_MAX];
	struct mr_pool_desc pools[MR_MAX_POOLS];
	struct mr_vdev_desc vdevs[MR_MAX_VDEVS];
	struct mr_app_slot apps[MR_MAX_APPS];
	/* Appended after ABI v2 (the layout above is unchanged). */
	uint64_t tsc_hz;                /* rte_get_tsc_hz() of the daemon */
	int32_t rxtsc_dynfield_offset;  /* byte offset of MR_RXTSC_DYNFIELD in struct rte_mbuf, -1: off */
	uint32_t lat_pad;
	struct mr_lat_hist lat[MR_MAX_VDEVS]; /* per vdev, index as vdevs[] */
} __attribute__((aligned(MR_CACHE_LINE)));

/* Per registered application, memzone "mrapp_<slot>": header, then
 * nr_threads * nr_pools struct rte_mempool_cache (DPDK-version layout) at
 * caches, thread-major: cache(t, p) = caches + (t*nr_pools + p)*cache_stride.
 * W: app (the caches, through its threads); the daemon flushes them only
 * after the app is dead. */
struct mr_app_zone {
	uint32_t slot;
	uint32_t nr_threads;
	uint32_t nr_pools;
	uint32_t cache_size;
	uint64_t caches;       /* address of the first struct rte_mempool_cache */
	uint64_t cache_stride; /* bytes between caches (sizeof, cache-line rounded) */
} __attribute__((aligned(MR_CACHE_LINE)));

/* One receive stream: daemon → app ring. */
struct mr_rx_stream {
	uint64_t ring;     /* struct rte_ring * (SP daemon, SC app) */
	uint64_t spare0[7];
	/* W: daemon. pkts/bytes enqueued, drops = ring full, events = eventfd writes. */
	struct mr_counters daemon;
	/* W: app. sleeping: set to 1 before the app blocks, cleared after. The app
	 * stores sleeping=1, full fence, re-checks the ring; the daemon enqueues,
	 * full fence, loads sleeping and writes the eventfd when set (no lost
	 * wake-up). */
	uint32_t sleeping;
	uint32_t spare1[15];
	/* W: app. pkts/bytes dequeued, events = sleeps. */
	struct mr_counters app;
} __attribute__((aligned(MR_CACHE_LINE)));

/* One transmit stream: app → daemon ring. */
struct mr_tx_stream {
	uint64_t ring;     /* struct rte_ring * (SP app, SC daemon) */
	uint64_t spare0[7];
	/* W: app. pkts/bytes enqueued, drops = ring full (the app freed them). */
	struct mr_counters app;
	/* W: daemon. pkts/bytes handed to the port, drops = refused by the port. */
	struct mr_counters daemon;
} __attribute__((aligned(MR_CACHE_LINE)));

/* An opened vdev, memzone "mrvdi_<vdev index>". W: daemon for the header. */
struct mr_vdev_instance {
	uint32_t magic;       /* MR_ABI_MAGIC; published last */
	uint32_t vdev_index;
	uint32_t app_slot;
	uint32_t nr_rxstream;
	uint32_t nr_txstream;
	uint32_t ring_size;
	uint64_t generation;  /* the app slot's generation at open */
	struct mr_rx_stream rx[MR_MAX_STREAMS];
	struct mr_tx_stream tx[MR_MAX_STREAMS];
} __attribute__((aligned(MR_CACHE_LINE)));

/*
 * Data-path trace (memzone MR_TRACE_MEMZONE; docs/TRACE.md). Its own magic
 * and version (MR_TRACE_VERSION): an app whose trace version differs does
 * not attach it (no events), everything else keeps working.
 *
 * Layout: struct mr_trace_header, then header.nr_vdevs struct
 * mr_trace_control (index = vdev index), then header.nr_rings rings, each a
 * struct mr_trace_ring followed by header.ring_size struct mr_trace_record.
 * Rings [0, daemon_rings) belong to the daemon (worker i writes ring i);
 * application slot s, thread k writes ring daemon_rings + s*app_threads + k.
 * Every ring has one writer and one reader (mrtrace).
 */
#define MR_TRACE_MEMZONE "mrtrace"
#define MR_TRACE_MAGIC 0x5254524du /* "MRTR" */
#define MR_TRACE_VERSION 3u        /* 3: mr_trace_record.tsc (TSC ticks, was time_ns) and the TSC calibration in
                                    * struct mr_trace_header; 2: seq in struct mr_trace_control, drop reasons as
                                    * struct mr_drops */
#define MR_TRACE_PORT_NONE 0xffffu /* mr_trace_record.port of app stages */
#define MR_TRACE_ANY_BITS 0xffu    /* mr_trace_filter.src_bits/dst_bits: any address */

/* enum mr_trace_stage: struct mr_trace_record.stage, in the order a packet meets them. */
#define MR_TRACE_STAGE_PORT_RX 1u /* daemon: received from the port */
#define MR_TRACE_STAGE_DIST 2u    /* daemon: distributed to an rx stream (record.stream) */
#define MR_TRACE_STAGE_APP_RX 3u  /* app: dequeued from its rx stream */
#define MR_TRACE_STAGE_APP_TX 4u  /* app: handed to its tx stream */
#define MR_TRACE_STAGE_PORT_TX 5u /* daemon: taken by the port's tx burst */
#define MR_TRACE_STAGE_DROP 6u    /* dropped: record.reason says why */

/* enum mr_trace_reason: struct mr_trace_record.reason of a drop; one per
 * struct mr_drops counter, in its order, then the library's own. */
#define MR_TRACE_REASON_RX_RING_FULL 1u     /* daemon: the app's rx stream ring was full */
#define MR_TRACE_REASON_NO_MBUF 2u          /* the port had no mbuf (no packet: not recorded per packet) */
#define MR_TRACE_REASON_NO_APP 3u           /* daemon: no application has the vdev open */
#define MR_TRACE_REASON_FILTERED 4u         /* refused by a filter (reserved, as mr_drops.filtered) */
#define MR_TRACE_REASON_PORT_TX_REFUSED 5u  /* daemon: the port's tx burst refused it */
#define MR_TRACE_REASON_APP_TX_RING_FULL 6u /* app: its tx stream ring was full */
#define MR_TRACE_REASON_MALFORMED 7u        /* too short or malformed (reserved, as mr_drops.malformed) */
#define MR_TRACE_REASON_UNRESOLVED 8u       /* app send helper: next hop unresolved */

/* mr_trace_filter.flags */
#define MR_TRACE_F_V6_SRC 1u /* src is an IPv6 prefix (else IPv4 in src[0..4)) */
#define MR_TRACE_F_V6_DST 2u
#define MR_TRACE_F_ONEWAY 4u /* match src→dst only (else either direction) */

/* The area header. W: daemon, once, before magic (published).
 *
 * TSC calibration: records carry TSC ticks (mr_trace_record.tsc); a reader
 * shows tick t as the wall clock unix_ns_ref + (t - tsc_ref) * 1e9 / tsc_hz,
 * and a writer without RDTSC stamps tsc_ref + (now_ns - unix_ns_ref) *
 * tsc_hz / 1e9 (comparable with the TSC). tsc_ref and unix_ns_ref are one
 * rte_rdtsc() and one clock_gettime(CLOCK_REALTIME) read together at
 * start-up (the pair of a few tries with the smallest gap). */
struct mr_trace_header {
	uint32_t magic;        /* MR_TRACE_MAGIC; published */
	uint32_t version;      /* MR_TRACE_VERSION */
	uint32_t nr_vdevs;     /* controls */
	uint32_t nr_rings;
	uint32_t ring_size;    /* records per ring, a power of two */
	uint32_t daemon_rings; /* rings of the daemon's workers */
	uint32_t app_threads;  /* rings per application slot */
	uint32_t spare0;
	uint64_t tsc_hz;       /* TSC ticks per second: rte_get_tsc_hz() of the daemon */
	uint64_t tsc_ref;      /* a TSC value (rte_rdtsc()) ... */
	int64_t unix_ns_ref;   /* ... and CLOCK_REALTIME in ns, read with it */
	uint32_t spare[2];
} __attribute__((aligned(MR_CACHE_LINE)));

/* A 5-tuple filter: a zero or MR_TRACE_ANY_BITS field is a wildcard. */
struct mr_trace_filter {
	uint8_t src[16];   /* prefix address (IPv4 in the first 4 bytes) */
	uint8_t dst[16];
	uint16_t sport;    /* 0: any */
	uint16_t dport;
	uint8_t src_bits;  /* prefix length, MR_TRACE_ANY_BITS: any */
	uint8_t dst_bits;
	uint8_t proto;     /* IP protocol, 0: any */
	uint8_t flags;     /* MR_TRACE_F_* */
};

/* One vdev's trace switch. W: the controller (mrtrace); read by every
 * writer. enable is loaded first by the data path (off: one load and one
 * branch). filter and sample form a seqlock on seq: the controller makes
 * seq odd (CAS from even), stores them, then stores seq + 1 (even), all
 * with atomic stores; a writer loads seq, the fields and seq again, and uses
 * them only when both loads are equal and even (else it skips that packet). */
struct mr_trace_control {
	uint32_t enable;   /* 0: off; published after filter and sample */
	uint32_t sample;   /* record 1 in sample matching packets (0, 1: all) */
	uint32_t seq;      /* seqlock over sample and filter */
	uint32_t spare0;
	struct mr_trace_filter filter;
	uint64_t spare1;
} __attribute__((aligned(MR_CACHE_LINE)));

/* A ring header; its records follow. head: W writer (release store after
 * the record), tail: W reader (release store after reading), lost: W writer
 * (its only writer: load, then store + 1): events dropped because the ring
 * was full (never blocks). */
struct mr_trace_ring {
	uint64_t head;
	uint64_t spare0[3];
	uint64_t tail;
	uint64_t lost;
	uint64_t spare1[2];
} __attribute__((aligned(MR_CACHE_LINE)));

/* A packet's 5-tuple as parsed by the writer (proto 0: none). */
struct mr_trace_tuple {
	uint8_t src[16];   /* IPv4 in the first 4 bytes */
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t v6;        /* 1: IPv6 addresses */
};

/* One event. */
struct mr_trace_record {
	uint64_t tsc;      /* TSC ticks (header: tsc_hz, tsc_ref, unix_ns_ref) */
	uint8_t stage;     /* MR_TRACE_STAGE_* */
	uint8_t reason;    /* MR_TRACE_REASON_* when stage is MR_TRACE_STAGE_DROP */
	uint16_t port;     /* port id (daemon stages) or MR_TRACE_PORT_NONE */
	uint16_t vdev;
	uint16_t stream;   /* rx/tx stream or app thread; 0xffff: none */
	uint32_t len;
	uint32_t hash;     /* flow hash */
	struct mr_trace_tuple tuple;
	uint8_t spare[2];
} __attribute__((aligned(MR_CACHE_LINE)));

/*
 * Control messages (rte_mp, action names below). Payloads travel by value
 * in rte_mp_msg.param (<= 256 bytes on every DPDK version).
 */
#define MR_MSG_REGISTER "instance_alive_register"   /* fds[0]: socketpair end (liveness) */
#define MR_MSG_DEREGISTER "instance_deregister"
#define MR_MSG_VDEV_OPEN "vdev_instance_request"     /* reply fds: rx eventfds [0, 8) */
#define MR_MSG_VDEV_FDS "vdev_instance_fds"          /* reply fds: rx eventfds [first, first+8) */
#define MR_MSG_VDEV_CLOSE "vdev_instance_close"

struct mr_msg_register_req {
	uint32_t abi_version;
	int32_t pid;
	uint32_t nr_threads;
	uint32_t cache_size;
	char appsym[MR_SYMBOL_MAX];
	char monit_file[MR_PATH_MAX - 16];
};

struct mr_msg_register_rep {
	int32_t errcode;      /* MR_OK or MR_E* */
	uint32_t slot;
	uint64_t generation;
	uint64_t root;        /* struct mr_root * */
	uint64_t zone;        /* struct mr_app_zone * */
	char strerr[MR_STRERR_MAX];
};

struct mr_msg_deregister_req {
	uint32_t slot;
	int32_t pid;
	uint64_t generation;
};

struct mr_msg_vdev_open_req {
	uint32_t slot;
	int32_t pid;
	uint64_t generation;
	uint32_t nr_rxstream;
	uint32_t nr_txstream;
	char devsym[MR_SYMBOL_MAX];
	char appsym[MR_SYMBOL_MAX];
};

struct mr_msg_vdev_open_rep {
	int32_t errcode;
	uint32_t vdev_index;
	uint32_t nr_rxstream;
	uint32_t nr_txstream;
	uint64_t instance;    /* struct mr_vdev_instance * */
	char devsym[MR_SYMBOL_MAX];
	char strerr[MR_STRERR_MAX];
};

struct mr_msg_vdev_fds_req {
	uint32_t slot;
	uint32_t vdev_index;
	uint32_t first;       /* first rx stream whose eventfd is wanted */
	uint32_t spare;
};

struct mr_msg_vdev_fds_rep {
	int32_t errcode;
	uint32_t first;
	uint32_t count;       /* fds carried in this reply */
	uint32_t spare;
};

struct mr_msg_vdev_close_req {
	uint32_t slot;
	uint32_t vdev_index;
	uint64_t generation;
};

/* Replies without a payload of their own (deregister, close). */
struct mr_msg_status_rep {
	int32_t errcode;
	uint32_t spare;
	char strerr[MR_STRERR_MAX];
};

#endif /* MRZCPD_ABI_H */
