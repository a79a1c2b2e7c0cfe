/* perms.c — [service] app_group: hugepage files the heap creates after
 * start-up are given to the application group before secondaries are told
 * to map them. EAL creates them 0600; a memory event callback runs in the
 * primary after the pages are allocated and before request_sync() asks the
 * secondaries to map them (lib/eal/common/malloc_heap.c,
 * try_expand_heap_primary), so a non-root application never sees a page it
 * cannot open. */
#include <sys/stat.h>
#include <unistd.h>
#include <rte_memory.h>
#include <rte_errno.h>
#include "dp.h"

static gid_t mr_app_gid = (gid_t)-1;
static volatile uint64_t mr_perm_fixed, mr_perm_failed;

static void mr_perm_fix_fd(int fd)
{
	if (fd < 0)
		return;
	if (fchown(fd, (uid_t)-1, mr_app_gid) == 0 && fchmod(fd, 0660) == 0)
		mr_perm_fixed++;
	else
		mr_perm_failed++;
}

/* Runs under the memory hotplug lock: thread-unsafe lookups only. */
static void mr_perm_mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	(void)arg;
	if (type != RTE_MEM_EVENT_ALLOC || mr_app_gid == (gid_t)-1)
		return;
	const char *p = addr, *end = p + len;
	while (p < end) {
		const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(p);
		const struct rte_memseg *ms = rte_mem_virt2memseg(p, msl);
		if (ms == NULL || ms->len == 0)
			break;
		mr_perm_fix_fd(rte_memseg_get_fd_thread_unsafe(ms));
		p = (const char *)ms->addr + ms->len;
	}
}

int mr_perm_register(uint32_t gid)
{
	mr_app_gid = (gid_t)gid;
	if (rte_mem_event_callback_register("mrzcpd-app-group", mr_perm_mem_event, NULL) < 0)
		return -rte_errno;
	return 0;
}

void mr_perm_unregister(void)
{
	if (mr_app_gid != (gid_t)-1)
		rte_mem_event_callback_unregister("mrzcpd-app-group", NULL);
	mr_app_gid = (gid_t)-1;
}

uint64_t mr_perm_fixed_count(void) { return mr_perm_fixed; }
uint64_t mr_perm_failed_count(void) { return mr_perm_failed; }
