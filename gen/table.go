package main

// The declarative input of the generator: which C structs and constants are
// mirrored into zz_generated/dpdkXXYY, and every way the Go mirror departs
// from the C layout, one row each with its reason. Keep both tables sorted by
// concern, then by Go name. gen/README.md explains how to add a row.

// typeRow mirrors one C struct.
type typeRow struct {
	Go       string   // Go type name (C name without rte_, CamelCase; docs/CONTRACTS.md)
	C        string   // C struct tag (struct <C>)
	File     string   // concern: the output file is ztypes_<File>.go
	Versions []string // DPDK versions that have it; nil: every version
	Optional bool     // mirrored only where the headers define it (no error when absent)
	Internal bool     // not in the -dev headers: declared in gen/internal/dpdkXXYY/internal.h
	Require  []string // C member paths (dot-separated) that must exist: a missing one is an error
	Fixups   []fixup
}

// fixup is one departure of the Go mirror from the generic translation.
type fixup struct {
	Kind  fixKind
	Field string // C member path, dot-separated through named members
	Arg   string // for fixRename: the Go name
	Why   string // the reason, copied into the generated code as a comment
}

type fixKind int

const (
	// fixPrefer turns an anonymous union into a typed Go field of the named
	// member (which must span the whole union); the other members keep
	// their pointer accessors.
	fixPrefer fixKind = iota + 1
	// fixBytes renders the member as bytes with a pointer accessor instead
	// of a typed field.
	fixBytes
	// fixRename gives the member another Go name.
	fixRename
	// fixPad treats the members matching Field (a path.Match pattern; it
	// may match nothing in some versions) as padding: "_" bytes, no name.
	fixPad
	// fixGetter renders a plain integer member as getter/setter methods,
	// like a bitfield spanning its whole unit (where another release makes
	// it a bitfield).
	fixGetter
)

var types = []typeRow{
	// mbuf
	{Go: "Mbuf", C: "rte_mbuf", File: "mbuf",
		Require: []string{"buf_addr", "data_off", "refcnt", "nb_segs", "port", "ol_flags", "packet_type", "pkt_len", "data_len", "buf_len", "pool", "next", "priv_size", "shinfo"},
		Fixups: []fixup{
			{Kind: fixPrefer, Field: "refcnt", Why: "free/reset read and write refcnt on every packet; a typed field beats the rte_atomic16_t alias"},
			{Kind: fixPrefer, Field: "data_off", Why: "24.11 wraps data_off..port in a union with rearm_data; they stay fields as in 20.11 and 22.11"},
			{Kind: fixPrefer, Field: "pkt_len", Why: "24.11 wraps packet_type..buf_len in a union with rx_descriptor_fields1; they stay fields as in 20.11 and 22.11"},
			{Kind: fixPrefer, Field: "packet_type", Why: "the packet_type word is the field; its l2_type..inner_l4_type bitfields are accessors"},
			{Kind: fixPrefer, Field: "tx_offload", Why: "the tx_offload word is the field; its l2_len..outer_l2_len bitfields are accessors"},
		}},
	{Go: "MbufExtSharedInfo", C: "rte_mbuf_ext_shared_info", File: "mbuf", Require: []string{"free_cb", "fcb_opaque", "refcnt"}},
	{Go: "PktmbufPoolPrivate", C: "rte_pktmbuf_pool_private", File: "mbuf", Require: []string{"mbuf_data_room_size", "mbuf_priv_size", "flags"}},

	// mem: the shared configuration, memory segments, memzones, tailqs, heaps
	{Go: "Fbarray", C: "rte_fbarray", File: "mem", Require: []string{"name", "count", "len", "elt_sz", "data"}},
	{Go: "MallocElem", C: "malloc_elem", File: "mem", Internal: true, Require: []string{"heap", "state", "size"},
		Fixups: []fixup{
			{Kind: fixGetter, Field: "state", Why: "22.11 and 24.11 make state a 3-bit bitfield; 20.11's plain enum gets the same State/SetState methods"},
		}},
	{Go: "MallocHeap", C: "malloc_heap", File: "mem", Internal: true, Require: []string{"free_head", "first", "last", "total_size", "name"}},
	{Go: "MemConfig", C: "rte_mem_config", File: "mem", Internal: true,
		Require: []string{"magic", "version", "memzones", "memsegs", "tailq_head", "malloc_heaps", "mem_cfg_addr", "legacy_mem", "single_file_segments", "tsc_hz"}},
	{Go: "Memseg", C: "rte_memseg", File: "mem", Require: []string{"addr", "iova", "len", "hugepage_sz", "socket_id", "nchannel", "nrank", "flags"}},
	{Go: "MemsegList", C: "rte_memseg_list", File: "mem", Require: []string{"base_va", "page_sz", "socket_id", "len", "external", "heap", "memseg_arr"},
		Fixups: []fixup{
			{Kind: fixPrefer, Field: "base_va", Why: "the union is { void *base_va; uint64_t addr_64; }: shm maps at base_va"},
		}},
	{Go: "Memzone", C: "rte_memzone", File: "mem", Require: []string{"name", "iova", "addr", "len", "hugepage_sz", "socket_id", "flags"},
		Fixups: []fixup{
			{Kind: fixPrefer, Field: "addr", Why: "the union is { void *addr; uint64_t addr_64; }: shm follows addr"},
		}},
	{Go: "TailqEntry", C: "rte_tailq_entry", File: "mem", Require: []string{"next", "data"}},
	{Go: "TailqHead", C: "rte_tailq_head", File: "mem", Require: []string{"tailq_head", "name"}},

	// mempool
	{Go: "Mempool", C: "rte_mempool", File: "mempool", Require: []string{"name", "pool_data", "pool_config", "mz", "flags", "socket_id", "size", "cache_size", "elt_size", "header_size", "trailer_size", "private_data_size", "ops_index", "local_cache", "populated_size", "elt_list", "nb_mem_chunks", "mem_list"},
		Fixups: []fixup{
			{Kind: fixPrefer, Field: "pool_data", Why: "the union is { void *pool_data; uint64_t pool_id; }: fastpath follows pool_data to the ring"},
			{Kind: fixRename, Field: "cache_size", Arg: "PoolCacheSize", Why: "OffsetofMempoolCacheSize already names rte_mempool_cache.size"},
		}},
	{Go: "MempoolCache", C: "rte_mempool_cache", File: "mempool", Require: []string{"size", "flushthresh", "len", "objs"}},
	{Go: "MempoolObjhdr", C: "rte_mempool_objhdr", File: "mempool", Require: []string{"next", "mp"}},
	{Go: "MempoolObjtlr", C: "rte_mempool_objtlr", File: "mempool", Optional: true},

	// mp: multi-process IPC
	{Go: "MpMsg", C: "rte_mp_msg", File: "mp", Require: []string{"name", "len_param", "num_fds", "param", "fds"}},
	{Go: "MpMsgInternal", C: "mp_msg_internal", File: "mp", Internal: true, Require: []string{"type", "msg"}},

	// ring
	{Go: "Ring", C: "rte_ring", File: "ring", Require: []string{"name", "flags", "memzone", "size", "mask", "capacity", "prod", "cons"},
		Fixups: []fixup{
			{Kind: fixPrefer, Field: "prod", Why: "prod shares a cache-line union with hts_prod and rts_prod: the MP/SP headtail is the typed field, the HTS/RTS views are accessors"},
			{Kind: fixPad, Field: "pad[0-9]", Why: "22.11 and older separate prod and cons by cache-line pad members; they carry no data"},
			{Kind: fixPad, Field: "cache_guard_*", Why: "24.11's RTE_CACHE_GUARD members are named after header line numbers; they carry no data"},
			{Kind: fixPrefer, Field: "cons", Why: "cons shares a cache-line union with hts_cons and rts_cons: the MC/SC headtail is the typed field, the HTS/RTS views are accessors"},
		}},
	{Go: "RingHeadtail", C: "rte_ring_headtail", File: "ring", Require: []string{"head", "tail", "sync_type"},
		Fixups: []fixup{
			{Kind: fixPrefer, Field: "sync_type", Why: "the union is { enum rte_ring_sync_type sync_type; uint32_t single; }: fastpath reads sync_type"},
		}},
	{Go: "RingHtsHeadtail", C: "rte_ring_hts_headtail", File: "ring", Require: []string{"ht", "sync_type"}},
	{Go: "RingRtsHeadtail", C: "rte_ring_rts_headtail", File: "ring", Require: []string{"tail", "sync_type", "htd_max", "head"}},
}

// constRow mirrors one C constant (a macro, an enumerator or a string).
type constRow struct {
	Name     string   // Go name: the 22.11 C spelling (docs/CONTRACTS.md)
	Alt      []string // other C spellings, tried in order when Name is not defined
	Enum     bool     // an enumerator (no #ifdef possible): must exist
	Str      bool     // a string constant
	Optional bool     // mirrored only where the headers define it
	Why      string   // why it is optional / spelled differently
}

var consts = []constRow{
	// eal, memory, version
	{Name: "RTE_MAGIC"},
	{Name: "RTE_VERSION"},
	{Name: "RTE_VER_YEAR"},
	{Name: "RTE_VER_MONTH"},
	{Name: "RTE_VER_MINOR"},
	{Name: "RTE_VER_RELEASE"},
	{Name: "RTE_MAX_LCORE"},
	{Name: "RTE_MAX_NUMA_NODES"},
	{Name: "RTE_MAX_HEAPS"},
	{Name: "RTE_MAX_MEMSEG_LISTS"},
	{Name: "RTE_MAX_MEMSEG_PER_LIST"},
	{Name: "RTE_MAX_MEM_MB_PER_LIST"},
	{Name: "RTE_MAX_MEMSEG_PER_TYPE"},
	{Name: "RTE_MAX_MEM_MB_PER_TYPE"},
	{Name: "RTE_MAX_MEMZONE", Optional: true, Why: "24.11 removed it: the limit is rte_mem_config.max_memzone (rte_memzone_max_set, default 2560)"},
	{Name: "RTE_MAX_TAILQ"},
	{Name: "RTE_TAILQ_NAMESIZE"},
	{Name: "RTE_FBARRAY_NAME_LEN"},
	{Name: "RTE_MEMZONE_NAMESIZE"},
	{Name: "RTE_CACHE_LINE_SIZE"},
	{Name: "RTE_MEMSEG_FLAG_DO_NOT_FREE"},
	{Name: "RTE_MEMSEG_FLAG_DMA_CAPABLE", Optional: true, Why: "not defined by every version"},
	{Name: "RTE_MEMZONE_2MB"},
	{Name: "RTE_MEMZONE_1GB"},
	{Name: "RTE_MEMZONE_SIZE_HINT_ONLY"},
	{Name: "RTE_MEMZONE_IOVA_CONTIG"},
	{Name: "RTE_HEAP_NUM_FREELISTS"},
	{Name: "RTE_HEAP_NAME_MAX_LEN"},

	// mp: multi-process IPC
	{Name: "RTE_MP_MAX_FD_NUM"},
	{Name: "RTE_MP_MAX_NAME_LEN"},
	{Name: "RTE_MP_MAX_PARAM_LEN"},

	// ring
	{Name: "RTE_RING_NAMESIZE"},
	{Name: "RTE_RING_MZ_PREFIX", Str: true},
	{Name: "RTE_RING_SZ_MASK"},
	{Name: "RING_F_SP_ENQ"},
	{Name: "RING_F_SC_DEQ"},
	{Name: "RING_F_EXACT_SZ"},
	{Name: "RING_F_MP_RTS_ENQ"},
	{Name: "RING_F_MC_RTS_DEQ"},
	{Name: "RING_F_MP_HTS_ENQ"},
	{Name: "RING_F_MC_HTS_DEQ"},
	{Name: "RTE_RING_SYNC_MT", Enum: true},
	{Name: "RTE_RING_SYNC_ST", Enum: true},
	{Name: "RTE_RING_SYNC_MT_RTS", Enum: true},
	{Name: "RTE_RING_SYNC_MT_HTS", Enum: true},

	// mempool
	{Name: "RTE_MEMPOOL_NAMESIZE"},
	{Name: "RTE_MEMPOOL_MZ_PREFIX", Str: true},
	{Name: "RTE_MEMPOOL_CACHE_MAX_SIZE"},
	{Name: "RTE_MEMPOOL_HEADER_COOKIE1", Alt: []string{"RTE_MEMPOOL_HEADER_COOKIE"}, Optional: true, Why: "defined only with RTE_LIBRTE_MEMPOOL_DEBUG in some versions"},
	{Name: "RTE_MEMPOOL_HEADER_COOKIE2", Optional: true, Why: "defined only with RTE_LIBRTE_MEMPOOL_DEBUG in some versions"},
	{Name: "RTE_MEMPOOL_TRAILER_COOKIE", Optional: true, Why: "defined only with RTE_LIBRTE_MEMPOOL_DEBUG in some versions"},
	{Name: "RTE_MEMPOOL_F_NO_SPREAD", Alt: []string{"MEMPOOL_F_NO_SPREAD"}, Why: "20.11 spells it MEMPOOL_F_NO_SPREAD"},
	{Name: "RTE_MEMPOOL_F_NO_CACHE_ALIGN", Alt: []string{"MEMPOOL_F_NO_CACHE_ALIGN"}, Why: "20.11 spells it MEMPOOL_F_NO_CACHE_ALIGN"},
	{Name: "RTE_MEMPOOL_F_SP_PUT", Alt: []string{"MEMPOOL_F_SP_PUT"}, Why: "20.11 spells it MEMPOOL_F_SP_PUT"},
	{Name: "RTE_MEMPOOL_F_SC_GET", Alt: []string{"MEMPOOL_F_SC_GET"}, Why: "20.11 spells it MEMPOOL_F_SC_GET"},
	{Name: "RTE_MEMPOOL_F_POOL_CREATED", Alt: []string{"MEMPOOL_F_POOL_CREATED"}, Why: "20.11 spells it MEMPOOL_F_POOL_CREATED"},
	{Name: "RTE_MEMPOOL_F_NO_IOVA_CONTIG", Alt: []string{"MEMPOOL_F_NO_IOVA_CONTIG"}, Why: "20.11 spells it MEMPOOL_F_NO_IOVA_CONTIG"},
	{Name: "RTE_MEMPOOL_F_NON_IO", Optional: true, Why: "added in 21.11"},

	// mbuf
	{Name: "RTE_PKTMBUF_HEADROOM"},
	{Name: "RTE_MBUF_DEFAULT_DATAROOM"},
	{Name: "RTE_MBUF_DEFAULT_BUF_SIZE"},
	{Name: "RTE_MBUF_PRIV_ALIGN"},
	{Name: "RTE_MBUF_F_INDIRECT", Alt: []string{"IND_ATTACHED_MBUF"}, Why: "20.11 spells it IND_ATTACHED_MBUF"},
	{Name: "RTE_MBUF_F_EXTERNAL", Alt: []string{"EXT_ATTACHED_MBUF"}, Why: "20.11 spells it EXT_ATTACHED_MBUF"},
	{Name: "RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF"},
	{Name: "RTE_MBUF_MAX_NB_SEGS"},
	{Name: "RTE_MEMPOOL_OPS_NAMESIZE"},
}
