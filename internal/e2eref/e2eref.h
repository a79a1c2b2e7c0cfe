/* e2eref.h — the C side of mrbench's e2e suite: an EAL secondary process
 * that registers with mrzcpd over rte_mp exactly as docs/ABI.md says
 * (instance_alive_register with a socketpair end, vdev_instance_request),
 * then runs the receive → touch → send loop on the vdev's stream rings with
 * DPDK's inline rte_ring_dequeue_burst / rte_ring_enqueue_burst (the C
 * reference), or serves one ring operation per call to a Go loop (the
 * cgo-binding-style variants). */
#ifndef GOMARSIO_E2EREF_H
#define GOMARSIO_E2EREF_H

#include <stdint.h>

#define E2E_MAX_BURST 512

/* What one measured phase did. busy_ns = cpu_ns - sleep_cpu_ns. */
struct e2e_stats {
	uint64_t pkts;         /* packets received, touched and sent (or dropped on a full tx ring) */
	uint64_t wall_ns;      /* CLOCK_MONOTONIC duration of the phase */
	uint64_t cpu_ns;       /* CLOCK_THREAD_CPUTIME_ID of the loop thread */
	uint64_t sleep_cpu_ns; /* thread CPU spent inside the idle sleeps (syscall entry/exit) */
	uint64_t sleeps;       /* empty polls that slept */
	uint64_t sleep_wall_ns; /* wall time inside those sleeps */
	uint64_t tx_drops;     /* tx ring full: freed */
	uint64_t ipv4;         /* packets whose 4-tuple was read */
	uint64_t sum;          /* xor of the 4-tuples (keeps the touch alive) */
};

/* A vdev opened by this process. */
struct e2e_session {
	uint32_t slot;
	uint64_t generation;
	uint32_t vdev_index;
	uintptr_t rx_ring; /* struct rte_ring *, SC here */
	uintptr_t tx_ring; /* struct rte_ring *, SP here */
	int32_t owner_off; /* MR_OWNER_DYNFIELD offset in struct rte_mbuf */
	int sock;          /* our end of the liveness socketpair */
};

int e2e_eal_init(int argc, char **argv, char *err, int errlen);
void e2e_eal_cleanup(void);
int e2e_attach(const char *appsym, const char *devsym, struct e2e_session *s, char *err, int errlen);
int e2e_detach(struct e2e_session *s, char *err, int errlen);

/* (b) the loop in C. The busy loop runs in C until a poll finds the ring
 * empty; then e2e_run_c_step returns 1 and the caller takes the idle sleep
 * (the same Go function as every other variant: a C thread sleeping inside
 * one long cgo call was seen to oversleep by 10x on this machine, which
 * changed what the loop measured) and reports it with e2e_run_c_slept.
 * 0: the measured phase is over, cs->st holds it. warm_ns unmeasured, then
 * dur_ns measured, as internal/e2eref's phase does in Go. */
struct e2e_cstate {
	uint64_t deadline, dur_ns, wall0, cpu0;
	uint32_t iter;
	int counting;
	struct e2e_stats *c; /* &warm during the warm-up, &st after */
	struct e2e_stats warm, st;
};
void e2e_run_c_begin(struct e2e_cstate *cs, uint64_t warm_ns, uint64_t dur_ns);
int e2e_run_c_step(const struct e2e_session *s, uint32_t burst, struct e2e_cstate *cs);
void e2e_run_c_slept(struct e2e_cstate *cs, uint64_t cpu_ns, uint64_t wall_ns);

/* (c)/(d) one ring operation per cgo call, as Go DPDK bindings wrap them. */
unsigned e2e_dequeue_burst(uintptr_t ring, uintptr_t *objs, unsigned n);
/* Enqueues n, frees (owner tag cleared) what did not fit; returns enqueued. */
unsigned e2e_enqueue_burst(uintptr_t ring, int32_t owner_off, uintptr_t *objs, unsigned n);
/* 0 and *obj set, or -1 when empty. */
int e2e_dequeue(uintptr_t ring, uintptr_t *obj);
/* 0 enqueued, or -1: full, obj freed. */
int e2e_enqueue(uintptr_t ring, int32_t owner_off, uintptr_t obj);

void e2e_set_timerslack(void);
uint64_t e2e_thread_cpu_ns(void);
uint64_t e2e_mono_ns(void);
void e2e_sleep_ns(uint64_t ns);
uint64_t e2e_sleep_calibrate(int n, uint64_t ns);

#endif
