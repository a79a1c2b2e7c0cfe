package ctrlproto

// TEMPORARY: DPDK 22.11 rte_mp frame layout used until zz_generated/dpdk
// lands. Names are dpdk_<Name> after the docs/CONTRACTS.md names so the
// switch is one rewrite (dpdk_ → dpdk.) plus an import. Values measured with
// offsetof() against Debian's libdpdk-dev 22.11.11 (rte_eal.h) and
// eal_common_proc.c's struct mp_msg_internal.
const (
	dpdk_RTE_MP_MAX_FD_NUM     = 8
	dpdk_RTE_MP_MAX_NAME_LEN   = 64
	dpdk_RTE_MP_MAX_PARAM_LEN  = 256
	dpdk_SizeofMpMsg           = 360
	dpdk_OffsetofMpMsgName     = 0
	dpdk_OffsetofMpMsgLenParam = 64
	dpdk_OffsetofMpMsgNumFds   = 68
	dpdk_OffsetofMpMsgParam    = 72
	dpdk_OffsetofMpMsgFds      = 328

	dpdk_SizeofMpMsgInternal       = 364
	dpdk_OffsetofMpMsgInternalType = 0
	dpdk_OffsetofMpMsgInternalMsg  = 4
)
