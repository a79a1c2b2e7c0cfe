package fastpath

// TEMPORARY: the offsets and constants fastpath needs from DPDK 22.11, until
// the generated package zz_generated/dpdk lands; then this file is deleted and
// the names below become aliases of dpdk.Offsetof… constants. Values were
// read with offsetof() from Debian's libdpdk-dev 22.11.11 headers (x86_64) and
// agree with /work/shared/DESIGN.md §6.

// struct rte_ring
const (
	ringOffName     = 0
	ringOffFlags    = 32
	ringOffMemzone  = 40
	ringOffSize     = 48
	ringOffMask     = 52
	ringOffCapacity = 56
	ringOffProd     = 128
	ringOffCons     = 256
	ringHeaderSize  = 384 // sizeof(struct rte_ring); objects follow

	htOffHead     = 0 // struct rte_ring_headtail
	htOffTail     = 4
	htOffSyncType = 8

	ringNameSize = 29 // RTE_RING_NAMESIZE
)

// rte_ring flags and sync types.
const (
	ringFSPEnq    = 0x1
	ringFSCDeq    = 0x2
	ringFExactSz  = 0x4
	ringFMPRTSEnq = 0x8
	ringFMCRTSDeq = 0x10
	ringFMPHTSEnq = 0x20
	ringFMCHTSDeq = 0x40

	syncMT    = 0
	syncST    = 1
	syncMTRTS = 2
	syncMTHTS = 3

	ringSzMask = 0x7fffffff // RTE_RING_SZ_MASK
)

// struct rte_mempool, struct rte_mempool_cache, struct rte_mempool_objhdr
const (
	mempoolOffName            = 0
	mempoolOffPoolData        = 32
	mempoolOffFlags           = 56
	mempoolOffSize            = 64
	mempoolOffCacheSize       = 68
	mempoolOffEltSize         = 72
	mempoolOffPrivateDataSize = 84
	mempoolSize               = 192
	mempoolNameSize           = 26 // RTE_MEMPOOL_NAMESIZE

	cacheOffSize        = 0
	cacheOffFlushthresh = 4
	cacheOffLen         = 8
	cacheOffObjs        = 64
	cacheSize           = 8256 // sizeof(struct rte_mempool_cache)
	cacheMaxSize        = 512  // RTE_MEMPOOL_CACHE_MAX_SIZE
	maxLcore            = 128  // RTE_MAX_LCORE

	objhdrSize    = 24 // sizeof(struct rte_mempool_objhdr)
	objhdrOffIova = 16
)

// struct rte_mbuf, struct rte_mbuf_ext_shared_info, struct rte_pktmbuf_pool_private
const (
	mbufOffBufAddr      = 0
	mbufOffBufIova      = 8
	mbufOffDataOff      = 16
	mbufOffRefcnt       = 18
	mbufOffNbSegs       = 20
	mbufOffPort         = 22
	mbufOffOlFlags      = 24
	mbufOffPacketType   = 32
	mbufOffPktLen       = 36
	mbufOffDataLen      = 40
	mbufOffVlanTci      = 42
	mbufOffHash         = 44
	mbufOffVlanTciOuter = 52
	mbufOffBufLen       = 54
	mbufOffPool         = 56
	mbufOffNext         = 64
	mbufOffTxOffload    = 72
	mbufOffShinfo       = 80
	mbufOffPrivSize     = 88
	mbufSize            = 128

	shinfoOffFreeCb    = 0
	shinfoOffFcbOpaque = 8
	shinfoOffRefcnt    = 16

	pktmbufPrivOffDataRoom = 0
	pktmbufPrivOffPrivSize = 2
	pktmbufPrivOffFlags    = 4

	pktmbufHeadroom = 128 // RTE_PKTMBUF_HEADROOM

	mbufFExternal     = uint64(1) << 61 // RTE_MBUF_F_EXTERNAL
	mbufFIndirect     = uint64(1) << 62 // RTE_MBUF_F_INDIRECT
	poolFPinnedExtBuf = 1               // RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF
	mbufPortInvalid   = 0xffff          // RTE_MBUF_PORT_INVALID
	mbufMaxNbSegs     = 0xffff          // RTE_MBUF_MAX_NB_SEGS
)
