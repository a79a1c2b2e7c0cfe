#include <time.h>
#include <rte_hash_crc.h>
#include "hashref.h"

uint32_t href_crc(const void *data, uint32_t len, uint32_t seed) { return rte_hash_crc(data, len, seed); }
uint32_t href_crc_4byte(uint32_t v, uint32_t seed) { return rte_hash_crc_4byte(v, seed); }
uint32_t href_crc_8byte(uint64_t v, uint32_t seed) { return rte_hash_crc_8byte(v, seed); }

void href_set_alg(int alg)
{
	static const uint8_t algs[] = {CRC32_SW, CRC32_SSE42, CRC32_SSE42_x64};
	rte_hash_crc_set_alg(algs[alg]);
}

static uint64_t now_ns(int thread_cpu)
{
	struct timespec ts;
	clock_gettime(thread_cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t href_bench_keys(const uint8_t *keys, const uint32_t *key_lens, uint32_t key_stride,
                         uint32_t n, uint32_t seed, uint64_t iters, uint32_t *out, int thread_cpu)
{
	uint64_t t0 = now_ns(thread_cpu);
	for (uint64_t it = 0; it < iters; it++) {
		for (uint32_t i = 0; i < n; i++)
			out[i] = key_lens[i] ? rte_hash_crc(keys + (uint64_t)i * key_stride, key_lens[i], seed) : 0;
		__asm__ volatile("" ::: "memory"); /* keep every round */
	}
	return now_ns(thread_cpu) - t0;
}

uint64_t href_thread_cpu_ns(void) { return now_ns(1); }

/*
 * The C twin of fastpath/flowhash's parser (see its doc.go for the exact
 * rules): the same extraction, the same symmetric key bytes, then DPDK's
 * rte_hash_crc with the same seed. Written straight in C (everything
 * inline, -O3), as a C application would do it.
 */
#include <string.h>
#include <rte_thash.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#define IP_V6 0x100u
#define IP_FRAG 0x200u
#define IP_OK 0x400u

struct iph {
	int off, l4;
	uint32_t info; /* proto | IP_V6 | IP_FRAG | IP_OK */
};

static inline uint16_t be16(const uint8_t *p, int off) { return (uint16_t)(p[off] << 8 | p[off + 1]); }
static inline int is_tpid(uint16_t e) { return e == 0x8100 || e == 0x88a8 || e == 0x9100; }
static inline int is_v6ext(uint8_t p) { return p == 0 || p == 43 || p == 60 || p == 44; }

static inline struct iph parse_ipv4(const uint8_t *p, int n, int off)
{
	struct iph h = {0, 0, 0};
	if (off + 20 > n)
		return h;
	uint8_t vihl = p[off];
	if (vihl >> 4 != 4 || (vihl & 0xf) < 5)
		return h;
	h.off = off;
	h.l4 = off + (vihl & 0xf) * 4;
	h.info = p[off + 9] | IP_OK;
	if (be16(p, off + 6) & 0x3fff)
		h.info |= IP_FRAG;
	return h;
}

static struct iph parse_v6ext(const uint8_t *p, int n, int off, uint8_t proto)
{
	struct iph h = {off, off + 40, 0};
	uint32_t flags = IP_V6 | IP_OK;
	for (int i = 0; i < 8; i++) {
		switch (proto) {
		case 0: case 43: case 60:
			if (h.l4 + 2 > n) {
				h.info = 255 | flags;
				return h;
			}
			proto = p[h.l4];
			h.l4 += (p[h.l4 + 1] + 1) * 8;
			break;
		case 44:
			if (h.l4 + 8 > n) {
				h.info = 255 | flags;
				return h;
			}
			proto = p[h.l4];
			if (be16(p, h.l4 + 2) & 0xfff9)
				flags |= IP_FRAG;
			h.l4 += 8;
			break;
		default:
			h.info = proto | flags;
			return h;
		}
	}
	if (is_v6ext(proto))
		proto = 255;
	h.info = proto | flags;
	return h;
}

static inline struct iph parse_ipv6(const uint8_t *p, int n, int off)
{
	struct iph h = {0, 0, 0};
	if (off + 40 > n || p[off] >> 4 != 6)
		return h;
	uint8_t proto = p[off + 6];
	if (is_v6ext(proto))
		return parse_v6ext(p, n, off, proto);
	h.off = off;
	h.l4 = off + 40;
	h.info = proto | IP_V6 | IP_OK;
	return h;
}

static inline struct iph parse_l2ip(const uint8_t *p, int n, int off)
{
	struct iph none = {0, 0, 0};
	if (off + 14 > n)
		return none;
	uint16_t et = be16(p, off + 12);
	off += 14;
	for (int i = 0; i < 8 && is_tpid(et); i++) {
		if (off + 4 > n)
			return none;
		et = be16(p, off + 2);
		off += 4;
	}
	if (et == 0x0800)
		return parse_ipv4(p, n, off);
	if (et == 0x86DD)
		return parse_ipv6(p, n, off);
	return none;
}

static struct iph gtpu(const uint8_t *p, int n, int off)
{
	struct iph none = {0, 0, 0};
	if (off + 8 > n)
		return none;
	uint8_t flags = p[off];
	if ((flags & 0xf0) != 0x30 || p[off + 1] != 0xff)
		return none;
	int pos = off + 8;
	if (flags & 0x07) {
		if (pos + 4 > n)
			return none;
		uint8_t next = p[pos + 3];
		pos += 4;
		if (flags & 0x04) {
			while (next) {
				if (pos + 1 > n)
					return none;
				int l = p[pos] * 4;
				if (l == 0 || pos + l > n)
					return none;
				next = p[pos + l - 1];
				pos += l;
			}
		}
	}
	if (pos + 1 > n)
		return none;
	switch (p[pos] >> 4) {
	case 4: return parse_ipv4(p, n, pos);
	case 6: return parse_ipv6(p, n, pos);
	}
	return none;
}

static struct iph inner(const uint8_t *p, int n, struct iph o)
{
	struct iph none = {0, 0, 0};
	int l4 = o.l4;
	switch ((uint8_t)o.info) {
	case 4: return parse_ipv4(p, n, l4);
	case 41: return parse_ipv6(p, n, l4);
	case 47: {
		if (l4 + 4 > n)
			return none;
		uint16_t f = be16(p, l4);
		if (f & 0x4007)
			return none;
		int hl = 4 + (f >> 15) * 4 + (f >> 13 & 1) * 4 + (f >> 12 & 1) * 4;
		switch (be16(p, l4 + 2)) {
		case 0x0800: return parse_ipv4(p, n, l4 + hl);
		case 0x86DD: return parse_ipv6(p, n, l4 + hl);
		case 0x6558: return parse_l2ip(p, n, l4 + hl);
		}
		return none;
	}
	case 17:
		if (l4 + 8 > n)
			return none;
		switch (be16(p, l4 + 2)) {
		case 4789: return parse_l2ip(p, n, l4 + 16);
		case 2152: return gtpu(p, n, l4 + 8);
		}
	}
	return none;
}

static inline int has_ports(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132 || proto == 136; }

/* find_ip returns the IP header mode hashes; *ports is set when the key
 * includes the ports. */
static inline struct iph find_ip(const uint8_t *p, int n, int mode, int *ports)
{
	struct iph ip = parse_l2ip(p, n, 0);
	*ports = 0;
	if (!(ip.info & IP_OK))
		return ip;
	if (mode >= 2 && !(ip.info & IP_FRAG)) {
		struct iph in = inner(p, n, ip);
		if (in.info & IP_OK)
			ip = in;
	}
	*ports = (mode & 1) && !(ip.info & IP_FRAG) && has_ports((uint8_t)ip.info) && ip.l4 + 4 <= n;
	return ip;
}

/* build_key writes the packet's symmetric key (flowhash's exact bytes) to
 * key and returns its length, 0 when the packet has no key. */
static inline uint32_t build_key(const uint8_t *p, int n, int mode, uint64_t key[5])
{
	int ports;
	struct iph ip = find_ip(p, n, mode, &ports);
	if (!(ip.info & IP_OK))
		return 0;
	/* Branch-free ordering (the compiler emits CMOVs): which of two random
	 * addresses is smaller is a coin toss no branch predictor learns. */
	uint32_t klen;
	if (!(ip.info & IP_V6)) {
		uint32_t a, b;
		memcpy(&a, p + ip.off + 12, 4);
		memcpy(&b, p + ip.off + 16, 4);
		uint32_t ha = rte_be_to_cpu_32(a), hb = rte_be_to_cpu_32(b);
		uint32_t lo = ha < hb ? ha : hb, hi = ha ^ hb ^ lo;
		key[0] = (uint64_t)rte_cpu_to_be_32(hi) << 32 | rte_cpu_to_be_32(lo);
		klen = 8;
	} else {
		uint64_t a0, a1, b0, b1;
		memcpy(&a0, p + ip.off + 8, 8);
		memcpy(&a1, p + ip.off + 16, 8);
		memcpy(&b0, p + ip.off + 24, 8);
		memcpy(&b1, p + ip.off + 32, 8);
		uint64_t ha0 = rte_be_to_cpu_64(a0), hb0 = rte_be_to_cpu_64(b0);
		uint64_t ha1 = rte_be_to_cpu_64(a1), hb1 = rte_be_to_cpu_64(b1);
		uint64_t swap = -(uint64_t)(hb0 < ha0 || (hb0 == ha0 && hb1 < ha1));
		uint64_t t0 = (a0 ^ b0) & swap, t1 = (a1 ^ b1) & swap;
		key[0] = a0 ^ t0;
		key[1] = a1 ^ t1;
		key[2] = b0 ^ t0;
		key[3] = b1 ^ t1;
		klen = 32;
	}
	if (ports) {
		uint16_t sp = be16(p, ip.l4), dp = be16(p, ip.l4 + 2);
		uint16_t lo = sp < dp ? sp : dp, hi = sp ^ dp ^ lo;
		uint32_t pw = (uint32_t)rte_cpu_to_be_16(hi) << 16 | rte_cpu_to_be_16(lo);
		if (klen == 8)
			key[1] = pw;
		else
			key[4] = pw;
		klen += 4;
	}
	return klen;
}

static inline uint32_t hash_one(const uint8_t *p, int n, int mode, uint32_t seed)
{
	uint64_t key[5];
	uint32_t klen = build_key(p, n, mode, key);
	return klen ? rte_hash_crc(key, klen, seed) : 0;
}

/* xxh_one: the same key, then the real xxHash library's XXH64 (inlined:
 * XXH_INLINE_ALL, as rte_hash_crc is) folded to 32 bits as flowhash's
 * sym_xxhash. */
static inline uint32_t xxh_one(const uint8_t *p, int n, int mode, uint32_t seed)
{
	uint64_t key[5];
	uint32_t klen = build_key(p, n, mode, key);
	if (!klen)
		return 0;
	uint64_t h = XXH64(key, klen, seed);
	return (uint32_t)h ^ (uint32_t)(h >> 32);
}

void href_hash_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed, uint32_t *out)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = hash_one((const uint8_t *)pkts[i], lens[i], mode, seed);
}

uint64_t href_bench_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed,
                          uint64_t iters, uint32_t *out, int thread_cpu)
{
	uint64_t t0 = now_ns(thread_cpu);
	for (uint64_t it = 0; it < iters; it++) {
		href_hash_burst(pkts, lens, n, mode, seed, out);
		__asm__ volatile("" ::: "memory");
	}
	return now_ns(thread_cpu) - t0;
}

void href_xxh_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed, uint32_t *out)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = xxh_one((const uint8_t *)pkts[i], lens[i], mode, seed);
}

uint64_t href_bench_xxh(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed,
                        uint64_t iters, uint32_t *out, int thread_cpu)
{
	uint64_t t0 = now_ns(thread_cpu);
	for (uint64_t it = 0; it < iters; it++) {
		href_xxh_burst(pkts, lens, n, mode, seed, out);
		__asm__ volatile("" ::: "memory");
	}
	return now_ns(thread_cpu) - t0;
}

uint64_t href_xxh64(const void *data, uint32_t len, uint64_t seed) { return XXH64(data, len, seed); }

/* Symmetric RSS key: 0x6d5a repeated (period 16 bits, so swapping the
 * 32-bit addresses and the 16-bit ports gives the same Toeplitz hash). */
static const uint8_t sym_rss_key[52] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};
static uint8_t sym_rss_key_be[52];

static inline uint32_t softrss_one(const uint8_t *p, int n, int mode, int be)
{
	int ports;
	struct iph ip = find_ip(p, n, mode, &ports);
	if (!(ip.info & IP_OK))
		return 0;
	union rte_thash_tuple t;
	uint32_t len;
	uint32_t pw = 0;
	if (ports)
		pw = (uint32_t)be16(p, ip.l4) << 16 | be16(p, ip.l4 + 2); /* sport, dport */
	if (!(ip.info & IP_V6)) {
		uint32_t a, b;
		memcpy(&a, p + ip.off + 12, 4);
		memcpy(&b, p + ip.off + 16, 4);
		t.v4.src_addr = rte_be_to_cpu_32(a);
		t.v4.dst_addr = rte_be_to_cpu_32(b);
		t.v4.sctp_tag = pw;
		len = ports ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN;
	} else {
		rte_thash_load_v6_addrs((const struct rte_ipv6_hdr *)(p + ip.off), &t);
		t.v6.sctp_tag = pw;
		len = ports ? RTE_THASH_V6_L4_LEN : RTE_THASH_V6_L3_LEN;
	}
	return be ? rte_softrss_be((uint32_t *)&t, len, sym_rss_key_be) : rte_softrss((uint32_t *)&t, len, sym_rss_key);
}

static void init_be_key(void)
{
	if (!sym_rss_key_be[0])
		rte_convert_rss_key((const uint32_t *)sym_rss_key, (uint32_t *)sym_rss_key_be, sizeof(sym_rss_key));
}

void href_softrss_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, int be, uint32_t *out)
{
	init_be_key();
	for (uint32_t i = 0; i < n; i++)
		out[i] = softrss_one((const uint8_t *)pkts[i], lens[i], mode, be);
}

uint64_t href_bench_softrss(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode,
                            uint64_t iters, uint32_t *out, int thread_cpu)
{
	init_be_key();
	uint64_t t0 = now_ns(thread_cpu);
	for (uint64_t it = 0; it < iters; it++) {
		for (uint32_t i = 0; i < n; i++)
			out[i] = softrss_one((const uint8_t *)pkts[i], lens[i], mode, 1);
		__asm__ volatile("" ::: "memory");
	}
	return now_ns(thread_cpu) - t0;
}
