package marsio

import (
	"sync/atomic"

	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// TEMPORARY: the mbuf reset/prefree steps the library
// needs, written against DPDK 22.11's layout until fastpath's mempool and
// mbuf API lands; then this file becomes a thin adapter over fastpath.

const (
	mbufPortInvalid  = 0xffff
	mbufFExternal    = dpdk.RTE_MBUF_F_EXTERNAL
	mbufTxOffload    = dpdk.OffsetofMbufTxOffload
	mbufVlanTCI      = dpdk.OffsetofMbufVlanTci
	mbufVlanTCIOuter = dpdk.OffsetofMbufVlanTciOuter
	pktmbufHeadroom  = dpdk.RTE_PKTMBUF_HEADROOM
)

// mbufReset is rte_pktmbuf_reset (22.11).
func mbufReset(m uintptr) {
	b := Buffer{m}
	*(*uintptr)(b.at(mbufNext)) = 0
	*(*uint32)(b.at(mbufPktLen)) = 0
	*(*uint64)(b.at(mbufTxOffload)) = 0
	*(*uint16)(b.at(mbufVlanTCI)) = 0
	*(*uint16)(b.at(mbufVlanTCIOuter)) = 0
	*(*uint16)(b.at(mbufNbSegs)) = 1
	*(*uint16)(b.at(mbufPort)) = mbufPortInvalid
	*(*uint64)(b.at(mbufOlFlags)) &= mbufFExternal
	*(*uint32)(b.at(mbufPacketType)) = 0
	*(*uint16)(b.at(mbufDataOff)) = min(pktmbufHeadroom, *(*uint16)(b.at(mbufBufLen)))
	*(*uint16)(b.at(mbufDataLen)) = 0
}

// mbufPrefree is rte_pktmbuf_prefree_seg for direct mbufs; it reports
// whether the mbuf goes back to its pool.
func mbufPrefree(m uintptr) bool {
	b := Buffer{m}
	ref := (*uint16)(b.at(mbufRefcnt))
	if *ref != 1 {
		if *ref == 0 {
			return false
		}
		// rte_mbuf_refcnt_update(m, -1): the 16-bit refcnt is the upper
		// half of the aligned word at data_off; adding 0xffff0000 subtracts
		// one from it without touching data_off.
		w := (*uint32)(b.at(mbufDataOff))
		if atomic.AddUint32(w, 0xffff0000)>>16 != 0 {
			return false
		}
		*ref = 1
	}
	if *(*uintptr)(b.at(mbufNext)) != 0 {
		*(*uintptr)(b.at(mbufNext)) = 0
		*(*uint16)(b.at(mbufNbSegs)) = 1
	}
	return true
}
