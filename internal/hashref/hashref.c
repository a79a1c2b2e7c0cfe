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
