// hashref.h: the C side of the flow-hash reference harness. Calls DPDK
// 22.11's own inline rte_hash_crc* (rte_hash_crc.h) so Go tests and
// tools/mrbench compare fastpath/flowhash with it on the same bytes.
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

#endif
