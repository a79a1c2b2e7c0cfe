package shm

// TEMPORARY: DPDK 22.11 layout facts used until zz_generated/dpdk lands.
// Every name is spelled dpdk_<Name> where <Name> is the docs/CONTRACTS.md
// name the generated package exports, so the switch is one rewrite
// (dpdk_ → dpdk.) plus an import. Values were read with offsetof() from a C
// probe compiled against Debian's libdpdk-dev 22.11.11 and the 22.11.11
// internal headers eal_memcfg.h / malloc_heap.h (DESIGN.md §5 agrees).

//nolint:revive // names mirror the generated package for a mechanical switch.
const (
	dpdk_RTE_MAGIC               = 0x12e6fee
	dpdk_RTE_VERSION             = 0x160b0b63
	dpdk_VersionMajor            = 22
	dpdk_VersionMinor            = 11
	dpdk_RTE_MAX_MEMSEG_LISTS    = 128
	dpdk_RTE_MAX_MEMSEG_PER_LIST = 8192
	dpdk_RTE_MAX_TAILQ           = 32
	dpdk_RTE_MAX_LCORE           = 128
	dpdk_RTE_MEMZONE_NAMESIZE    = 32
	dpdk_RTE_RING_NAMESIZE       = 29
	dpdk_RTE_MEMPOOL_NAMESIZE    = 26
	dpdk_RTE_TAILQ_NAMESIZE      = 32
	dpdk_RTE_FBARRAY_NAME_LEN    = 64

	dpdk_SizeofMemConfig                     = 25344
	dpdk_OffsetofMemConfigMagic              = 0
	dpdk_OffsetofMemConfigVersion            = 4
	dpdk_OffsetofMemConfigMlock              = 16
	dpdk_OffsetofMemConfigQlock              = 20
	dpdk_OffsetofMemConfigMpStatus           = 36
	dpdk_OffsetofMemConfigMemzones           = 40
	dpdk_OffsetofMemConfigMemsegs            = 136
	dpdk_OffsetofMemConfigTailqHead          = 17544
	dpdk_OffsetofMemConfigMemCfgAddr         = 25288
	dpdk_OffsetofMemConfigLegacyMem          = 25296
	dpdk_OffsetofMemConfigSingleFileSegments = 25300
	dpdk_OffsetofMemConfigTscHz              = 25304

	dpdk_SizeofFbarray        = 96
	dpdk_OffsetofFbarrayName  = 0
	dpdk_OffsetofFbarrayCount = 64
	dpdk_OffsetofFbarrayLen   = 68
	dpdk_OffsetofFbarrayEltSz = 72
	dpdk_OffsetofFbarrayData  = 80

	dpdk_SizeofMemsegList            = 136
	dpdk_OffsetofMemsegListBaseVa    = 0
	dpdk_OffsetofMemsegListPageSz    = 8
	dpdk_OffsetofMemsegListSocketId  = 16
	dpdk_OffsetofMemsegListVersion   = 20
	dpdk_OffsetofMemsegListLen       = 24
	dpdk_OffsetofMemsegListExternal  = 32
	dpdk_OffsetofMemsegListHeap      = 36
	dpdk_OffsetofMemsegListMemsegArr = 40

	dpdk_SizeofMemseg             = 48
	dpdk_OffsetofMemsegIova       = 0
	dpdk_OffsetofMemsegAddr       = 8
	dpdk_OffsetofMemsegLen        = 16
	dpdk_OffsetofMemsegHugepageSz = 24
	dpdk_OffsetofMemsegSocketId   = 32

	dpdk_SizeofMemzone             = 72
	dpdk_OffsetofMemzoneName       = 0
	dpdk_OffsetofMemzoneIova       = 32
	dpdk_OffsetofMemzoneAddr       = 40
	dpdk_OffsetofMemzoneLen        = 48
	dpdk_OffsetofMemzoneHugepageSz = 56
	dpdk_OffsetofMemzoneSocketId   = 64
	dpdk_OffsetofMemzoneFlags      = 68

	dpdk_SizeofTailqHead            = 48
	dpdk_OffsetofTailqHeadTailqHead = 0
	dpdk_OffsetofTailqHeadName      = 16
	dpdk_SizeofTailqEntry           = 24
	dpdk_OffsetofTailqEntryNext     = 0
	dpdk_OffsetofTailqEntryData     = 16

	dpdk_SizeofRing                   = 384
	dpdk_OffsetofRingName             = 0
	dpdk_OffsetofRingFlags            = 32
	dpdk_OffsetofRingMemzone          = 40
	dpdk_OffsetofRingSize             = 48
	dpdk_OffsetofRingMask             = 52
	dpdk_OffsetofRingCapacity         = 56
	dpdk_OffsetofRingProd             = 128
	dpdk_OffsetofRingCons             = 256
	dpdk_OffsetofRingHeadtailHead     = 0
	dpdk_OffsetofRingHeadtailTail     = 4
	dpdk_OffsetofRingHeadtailSyncType = 8

	dpdk_SizeofMempool                  = 192
	dpdk_OffsetofMempoolName            = 0
	dpdk_OffsetofMempoolPoolData        = 32
	dpdk_OffsetofMempoolFlags           = 56
	dpdk_OffsetofMempoolSocketId        = 60
	dpdk_OffsetofMempoolSize            = 64
	dpdk_OffsetofMempoolCacheSize       = 68
	dpdk_OffsetofMempoolEltSize         = 72
	dpdk_OffsetofMempoolHeaderSize      = 76
	dpdk_OffsetofMempoolTrailerSize     = 80
	dpdk_OffsetofMempoolPrivateDataSize = 84
	dpdk_OffsetofMempoolLocalCache      = 96
	dpdk_OffsetofMempoolPopulatedSize   = 104
	dpdk_OffsetofMempoolNbMemChunks     = 128

	dpdk_SizeofMempoolCache      = 8256
	dpdk_OffsetofMempoolCacheLen = 8
)
