// hashref.h: the C side of the flow-hash reference harness. Calls DPDK
// 22.11's own inline rte_hash_crc* (rte_hash_crc.h) and the xxHash
// library's XXH64 (xxhash.h from libxxhash-dev, inlined) so Go tests and
// tools/mrbench compare fastpath/flowhash with them on the same bytes.
#ifndef GOMARSIO_HASHREF_H
#define GOMARSIO_HASHREF_H

#include <stdint.h>

uint32_t href_crc(const void *data, uint32_t len, uint32_t seed);
uint32_t href_crc_4byte(uint32_t v, uint32_t seed);
uint32_t href_crc_8byte(uint64_t v, uint32_t seed);
// alg: 0 software tables (CRC32_SW), 1 SSE4.2 32-bit, 2 SSE4.2 64-bit
// (the default DPDK picks on x86-64).
void href_set_alg(int alg);

// href_bench_keys hashes n keys of key_lens[i] bytes each (stored
// key_stride bytes apart; an empty key hashes to 0 as in flowhash), one
// rte_hash_crc call per key, iters times; returns the
// elapsed nanoseconds: CLOCK_THREAD_CPUTIME_ID when thread_cpu is set (on
// a shared machine: the time this thread actually ran), else
// CLOCK_MONOTONIC. out receives the last round.
uint64_t href_bench_keys(const uint8_t *keys, const uint32_t *key_lens, uint32_t key_stride,
                         uint32_t n, uint32_t seed, uint64_t iters, uint32_t *out, int thread_cpu);

uint64_t href_thread_cpu_ns(void);

// href_hash_burst is the C twin of flowhash's HashBurstAddrs (sym_crc):
// for each of the n packets (address pkts[i], lens[i] bytes) it parses the
// headers for distribution mode (0..3) exactly as flowhash does, builds the
// same symmetric key and returns rte_hash_crc(key, len, seed) (0 when the
// packet has no key).
void href_hash_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed, uint32_t *out);
// href_bench_burst runs href_hash_burst iters times and returns the
// elapsed nanoseconds (clock as in href_bench_keys).
uint64_t href_bench_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed,
                          uint64_t iters, uint32_t *out, int thread_cpu);

// href_xxh_burst is the C twin of flowhash's sym_xxhash: the same
// extraction and key as href_hash_burst, then XXH64(key, len, seed) of the
// xxHash library (libxxhash-dev, inlined with XXH_INLINE_ALL) folded to 32
// bits, low ^ high (0 when the packet has no key).
void href_xxh_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed, uint32_t *out);
// href_bench_xxh runs href_xxh_burst iters times (clock as in
// href_bench_keys).
uint64_t href_bench_xxh(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, uint32_t seed,
                        uint64_t iters, uint32_t *out, int thread_cpu);
// href_xxh64 returns the library's XXH64(data, len, seed).
uint64_t href_xxh64(const void *data, uint32_t len, uint64_t seed);

// href_softrss_burst: the same extraction as href_hash_burst, then DPDK's
// software Toeplitz hash over the (unordered) tuple with the symmetric RSS
// key 0x6d5a repeated: rte_softrss_be with the converted key when be is
// set, else rte_softrss (both give the same value).
void href_softrss_burst(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode, int be, uint32_t *out);
// href_bench_softrss runs the rte_softrss_be form iters times.
uint64_t href_bench_softrss(const uintptr_t *pkts, const uint16_t *lens, uint32_t n, int mode,
                            uint64_t iters, uint32_t *out, int thread_cpu);

#endif
