package marsio

import "github.com/gomarsio/marsio/zz_generated/abi"

// The daemon↔app ABI (gen/abi/mrzcpd_abi.h), as generated into
// zz_generated/abi. Local names keep the library's code short.
type (
	abiCounters         = abi.Counters
	abiVdevDesc         = abi.VdevDesc
	abiRoot             = abi.Root
	abiAppZone          = abi.AppZone
	abiRxStream         = abi.RxStream
	abiTxStream         = abi.TxStream
	abiVdevInstance     = abi.VdevInstance
	abiMsgRegisterReq   = abi.MsgRegisterReq
	abiMsgRegisterRep   = abi.MsgRegisterRep
	abiMsgDeregisterReq = abi.MsgDeregisterReq
	abiMsgVdevOpenReq   = abi.MsgVdevOpenReq
	abiMsgVdevOpenRep   = abi.MsgVdevOpenRep
	abiMsgVdevFdsReq    = abi.MsgVdevFdsReq
	abiMsgVdevFdsRep    = abi.MsgVdevFdsRep
	abiMsgVdevCloseReq  = abi.MsgVdevCloseReq
	abiMsgStatusRep     = abi.MsgStatusRep
)

const (
	abiMagic          = abi.MR_ABI_MAGIC
	abiVersion        = abi.MR_ABI_VERSION
	abiRootMemzone    = abi.MR_ROOT_MEMZONE
	abiPathMax        = abi.MR_PATH_MAX
	abiMaxPools       = abi.MR_MAX_POOLS
	abiMaxVdevs       = abi.MR_MAX_VDEVS
	abiMaxApps        = abi.MR_MAX_APPS
	abiMaxStreams     = abi.MR_MAX_STREAMS
	abiMsgRegister    = abi.MR_MSG_REGISTER
	abiMsgDeregister  = abi.MR_MSG_DEREGISTER
	abiMsgVdevOpen    = abi.MR_MSG_VDEV_OPEN
	abiMsgVdevFds     = abi.MR_MSG_VDEV_FDS
	abiMsgVdevClose   = abi.MR_MSG_VDEV_CLOSE
	abiSizeofRoot     = abi.SizeofRoot
	abiSizeofInstance = abi.SizeofVdevInstance

	// Daemon error codes (MR_E*).
	codeOK      = abi.MR_OK
	codeEABI    = abi.MR_EABI
	codeENOSLOT = abi.MR_ENOSLOT
	codeENODEV  = abi.MR_ENODEV
	codeEBUSY   = abi.MR_EBUSY
	codeEDENIED = abi.MR_EDENIED
	codeEINVAL  = abi.MR_EINVAL
	codeENOMEM  = abi.MR_ENOMEM
	codeENOTREG = abi.MR_ENOTREG
)
