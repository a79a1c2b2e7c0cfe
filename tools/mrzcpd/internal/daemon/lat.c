/* lat.c — see lat.h. */
#include <rte_errno.h>

#include "lat.h"

int mr_rxtsc_off = -1;

int mr_lat_register(struct mr_root *r)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = MR_RXTSC_DYNFIELD,
		.size = sizeof(uint64_t),
		.align = __alignof__(uint64_t),
	};
	int off = rte_mbuf_dynfield_register(&desc);
	r->tsc_hz = rte_get_tsc_hz();
	r->rxtsc_dynfield_offset = off < 0 ? -1 : off;
	if (off < 0)
		return -rte_errno;
	mr_rxtsc_off = off;
	return off;
}
