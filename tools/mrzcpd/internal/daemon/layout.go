package daemon

/*
#include "dp.h"
*/
import "C"

import "unsafe"

// abiLayout returns sizes and offsets of the ABI as the C compiler lays it
// out, named like the constants of internal/daemontest (whose hand-written
// mirror the tests check against this).
func abiLayout() map[string]uintptr {
	var (
		rreq C.struct_mr_msg_register_req
		rrep C.struct_mr_msg_register_rep
		oreq C.struct_mr_msg_vdev_open_req
		orep C.struct_mr_msg_vdev_open_rep
		srep C.struct_mr_msg_status_rep
		root C.struct_mr_root
		pd   C.struct_mr_pool_desc
		z    C.struct_mr_app_zone
		vi   C.struct_mr_vdev_instance
		rx   C.struct_mr_rx_stream
	)
	return map[string]uintptr{
		"ABIVersion":              C.MR_ABI_VERSION,
		"SymbolMax":               C.MR_SYMBOL_MAX,
		"SizeofRegisterReq":       unsafe.Sizeof(rreq),
		"SizeofRegisterRep":       unsafe.Sizeof(rrep),
		"SizeofDeregisterReq":     C.sizeof_struct_mr_msg_deregister_req,
		"SizeofVdevOpenReq":       unsafe.Sizeof(oreq),
		"SizeofVdevOpenRep":       unsafe.Sizeof(orep),
		"SizeofVdevFdsReq":        C.sizeof_struct_mr_msg_vdev_fds_req,
		"SizeofVdevFdsRep":        C.sizeof_struct_mr_msg_vdev_fds_rep,
		"SizeofVdevCloseReq":      C.sizeof_struct_mr_msg_vdev_close_req,
		"SizeofStatusRep":         unsafe.Sizeof(srep),
		"OffRegisterReqAppsym":    unsafe.Offsetof(rreq.appsym),
		"OffRegisterReqMonitFile": unsafe.Offsetof(rreq.monit_file),
		"OffRegisterRepStrerr":    unsafe.Offsetof(rrep.strerr),
		"OffVdevOpenReqDevsym":    unsafe.Offsetof(oreq.devsym),
		"OffVdevOpenReqAppsym":    unsafe.Offsetof(oreq.appsym),
		"OffVdevOpenRepStrerr":    unsafe.Offsetof(orep.strerr),
		"OffStatusRepStrerr":      unsafe.Offsetof(srep.strerr),
		"OffRootOwnerDynfield":    unsafe.Offsetof(root.owner_dynfield_offset),
		"OffRootNrPools":          unsafe.Offsetof(root.nr_pools),
		"OffRootPools":            unsafe.Offsetof(root.pools),
		"OffRootVdevs":            unsafe.Offsetof(root.vdevs),
		"SizeofPoolDesc":          unsafe.Sizeof(pd),
		"OffPoolDescMempool":      unsafe.Offsetof(pd.mempool),
		"SizeofVdevDesc":          C.sizeof_struct_mr_vdev_desc,
		"OffAppZoneCaches":        unsafe.Offsetof(z.caches),
		"OffAppZoneStride":        unsafe.Offsetof(z.cache_stride),
		"OffInstanceNrRx":         unsafe.Offsetof(vi.nr_rxstream),
		"OffInstanceRx":           unsafe.Offsetof(vi.rx),
		"OffInstanceTx":           unsafe.Offsetof(vi.tx),
		"SizeofRxStream":          unsafe.Sizeof(rx),
		"SizeofTxStream":          C.sizeof_struct_mr_tx_stream,
		"OffRxStreamSleeping":     unsafe.Offsetof(rx.sleeping),
		"MrEABI":                  C.MR_EABI,
		"MrENOSLOT":               C.MR_ENOSLOT,
		"MrENODEV":                C.MR_ENODEV,
		"MrEBUSY":                 C.MR_EBUSY,
		"MrEDENIED":               C.MR_EDENIED,
		"MrEINVAL":                C.MR_EINVAL,
		"MrENOMEM":                C.MR_ENOMEM,
		"MrENOTREG":               C.MR_ENOTREG,
	}
}
