package fastpath

import "github.com/gomarsio/marsio/zz_generated/dpdk"

// The offsets and constants fastpath uses, from the generated layouts of the
// selected DPDK version (zz_generated/dpdk, 22.11 by default). They are
// package-level constants so the assembly gets them through go_asm.h.

// struct rte_ring and struct rte_ring_headtail
const (
	ringOffName     = dpdk.OffsetofRingName
	ringOffFlags    = dpdk.OffsetofRingFlags
	ringOffSize     = dpdk.OffsetofRingSize
	ringOffMask     = dpdk.OffsetofRingMask
	ringOffCapacity = dpdk.OffsetofRingCapacity
	ringOffProd     = dpdk.OffsetofRingProd
	ringOffCons     = dpdk.OffsetofRingCons
	ringHeaderSize  = dpdk.SizeofRing // objects follow the header

	htOffHead     = dpdk.OffsetofRingHeadtailHead
	htOffTail     = dpdk.OffsetofRingHeadtailTail
	htOffSyncType = dpdk.OffsetofRingHeadtailSyncType
	rtsOffHtdMax  = dpdk.OffsetofRingRtsHeadtailHtdMax

	ringNameSize = dpdk.RTE_RING_NAMESIZE
	ringSzMask   = dpdk.RTE_RING_SZ_MASK
)

// rte_ring flags and sync types.
const (
	ringFSPEnq    = dpdk.RING_F_SP_ENQ
	ringFSCDeq    = dpdk.RING_F_SC_DEQ
	ringFExactSz  = dpdk.RING_F_EXACT_SZ
	ringFMPRTSEnq = dpdk.RING_F_MP_RTS_ENQ
	ringFMCRTSDeq = dpdk.RING_F_MC_RTS_DEQ
	ringFMPHTSEnq = dpdk.RING_F_MP_HTS_ENQ
	ringFMCHTSDeq = dpdk.RING_F_MC_HTS_DEQ
	// RING_F_MASK is private to rte_ring.c: every flag above.
	ringFMask = ringFSPEnq | ringFSCDeq | ringFExactSz | ringFMPRTSEnq | ringFMCRTSDeq | ringFMPHTSEnq | ringFMCHTSDeq
	// HTD_MAX_DEF is private to rte_ring.c: RTS head-tail distance = capacity/8.
	ringHtdMaxDef = 8

	syncMT    = dpdk.RTE_RING_SYNC_MT
	syncST    = dpdk.RTE_RING_SYNC_ST
	syncMTRTS = dpdk.RTE_RING_SYNC_MT_RTS
	syncMTHTS = dpdk.RTE_RING_SYNC_MT_HTS
)

// struct rte_mempool, struct rte_mempool_cache, struct rte_mempool_objhdr
const (
	mempoolOffName      = dpdk.OffsetofMempoolName
	mempoolOffPoolData  = dpdk.OffsetofMempoolPoolData
	mempoolOffSize      = dpdk.OffsetofMempoolSize
	mempoolOffCacheSize = dpdk.OffsetofMempoolPoolCacheSize
	mempoolOffEltSize   = dpdk.OffsetofMempoolEltSize
	mempoolSize         = dpdk.SizeofMempool
	mempoolNameSize     = dpdk.RTE_MEMPOOL_NAMESIZE
	mempoolMzPrefix     = dpdk.RTE_MEMPOOL_MZ_PREFIX

	cacheOffSize        = dpdk.OffsetofMempoolCacheSize
	cacheOffFlushthresh = dpdk.OffsetofMempoolCacheFlushthresh
	cacheOffLen         = dpdk.OffsetofMempoolCacheLen
	cacheOffObjs        = dpdk.OffsetofMempoolCacheObjs
	cacheSize           = dpdk.SizeofMempoolCache
	cacheMaxSize        = dpdk.RTE_MEMPOOL_CACHE_MAX_SIZE
	maxLcore            = dpdk.RTE_MAX_LCORE

	objhdrSize    = dpdk.SizeofMempoolObjhdr
	objhdrOffIova = dpdk.OffsetofMempoolObjhdrIova
)

// struct rte_mbuf, struct rte_mbuf_ext_shared_info, struct rte_pktmbuf_pool_private
const (
	mbufOffBufAddr      = dpdk.OffsetofMbufBufAddr
	mbufOffBufIova      = dpdk.OffsetofMbufBufIova
	mbufOffDataOff      = dpdk.OffsetofMbufDataOff
	mbufOffRefcnt       = dpdk.OffsetofMbufRefcnt
	mbufOffNbSegs       = dpdk.OffsetofMbufNbSegs
	mbufOffPort         = dpdk.OffsetofMbufPort
	mbufOffOlFlags      = dpdk.OffsetofMbufOlFlags
	mbufOffPacketType   = dpdk.OffsetofMbufPacketType
	mbufOffPktLen       = dpdk.OffsetofMbufPktLen
	mbufOffDataLen      = dpdk.OffsetofMbufDataLen
	mbufOffVlanTci      = dpdk.OffsetofMbufVlanTci
	mbufOffHash         = dpdk.OffsetofMbufHash
	mbufOffVlanTciOuter = dpdk.OffsetofMbufVlanTciOuter
	mbufOffBufLen       = dpdk.OffsetofMbufBufLen
	mbufOffPool         = dpdk.OffsetofMbufPool
	mbufOffNext         = dpdk.OffsetofMbufNext
	mbufOffTxOffload    = dpdk.OffsetofMbufTxOffload
	mbufOffShinfo       = dpdk.OffsetofMbufShinfo
	mbufOffPrivSize     = dpdk.OffsetofMbufPrivSize
	mbufSize            = dpdk.SizeofMbuf

	shinfoOffFreeCb = dpdk.OffsetofMbufExtSharedInfoFreeCb
	shinfoOffRefcnt = dpdk.OffsetofMbufExtSharedInfoRefcnt

	pktmbufPrivOffDataRoom = dpdk.OffsetofPktmbufPoolPrivateMbufDataRoomSize
	pktmbufPrivOffPrivSize = dpdk.OffsetofPktmbufPoolPrivateMbufPrivSize
	pktmbufPrivOffFlags    = dpdk.OffsetofPktmbufPoolPrivateFlags

	pktmbufHeadroom   = dpdk.RTE_PKTMBUF_HEADROOM
	mbufFExternal     = uint64(dpdk.RTE_MBUF_F_EXTERNAL)
	mbufFIndirect     = uint64(dpdk.RTE_MBUF_F_INDIRECT)
	poolFPinnedExtBuf = dpdk.RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF
	mbufMaxNbSegs     = dpdk.RTE_MBUF_MAX_NB_SEGS
	// RTE_MBUF_PORT_INVALID (UINT16_MAX) is not among the generated
	// constants yet.
	mbufPortInvalid = 0xffff
)

// struct rte_ring_hts_headtail and struct rte_ring_rts_headtail (DPDK
// 22.11 rte_ring_core.h): the 64-bit words the HTS and RTS protocols CAS,
// and their 32-bit halves. The opposite end's "tail" that a producer or
// consumer reads is at offset 4 of the headtail for every sync type.
const (
	htsOffRaw  = dpdk.OffsetofRingHtsHeadtailHtRaw
	htsOffHead = dpdk.OffsetofRingHtsHeadtailHtPosHead
	htsOffTail = dpdk.OffsetofRingHtsHeadtailHtPosTail

	rtsOffTailRaw = dpdk.OffsetofRingRtsHeadtailTailRaw
	rtsOffTailCnt = dpdk.OffsetofRingRtsHeadtailTailValCnt
	rtsOffTailPos = dpdk.OffsetofRingRtsHeadtailTailValPos
	rtsOffHeadRaw = dpdk.OffsetofRingRtsHeadtailHeadRaw
	rtsOffHeadCnt = dpdk.OffsetofRingRtsHeadtailHeadValCnt
	rtsOffHeadPos = dpdk.OffsetofRingRtsHeadtailHeadValPos
)

// The kernels below take the 32-bit halves of the 64-bit words as low
// (head/cnt) and high (tail/pos) halves: little endian, as on amd64.
var _ = [1]struct{}{}[htsOffHead-htsOffRaw+htsOffTail-htsOffRaw-4]
var _ = [1]struct{}{}[rtsOffTailCnt-rtsOffTailRaw+rtsOffTailPos-rtsOffTailRaw-4+rtsOffHeadCnt-rtsOffHeadRaw+rtsOffHeadPos-rtsOffHeadRaw-4]
