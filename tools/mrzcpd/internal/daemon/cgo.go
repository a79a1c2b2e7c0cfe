package daemon

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -O2 -I${SRCDIR}/../../../../gen/abi -Wno-deprecated-declarations
#include <stdlib.h>
#include "dp.h"
*/
import "C"

import (
	"unsafe"
)

// ABI constants (gen/abi/mrzcpd_abi.h) used from Go.
const (
	abiMagic    = C.MR_ABI_MAGIC
	abiVersion  = C.MR_ABI_VERSION
	maxApps     = C.MR_MAX_APPS
	maxVdevs    = C.MR_MAX_VDEVS
	maxStreams  = C.MR_MAX_STREAMS
	maxThreads  = C.MR_MAX_THREADS
	fdsPerMsg   = C.MR_FDS_PER_MSG
	maxBurst    = C.MR_DP_MAX_BURST
	appFree     = C.MR_APP_FREE
	appActive   = C.MR_APP_ACTIVE
	appReclaim  = C.MR_APP_RECLAIMING
	vdevIdle    = C.MR_VDEV_IDLE
	vdevOpen    = C.MR_VDEV_OPEN
	symbolMax   = C.MR_SYMBOL_MAX
	strerrMax   = C.MR_STRERR_MAX
	mpMaxParam  = C.RTE_MP_MAX_PARAM_LEN
	mpMaxFds    = C.RTE_MP_MAX_FD_NUM
	mrOK        = C.MR_OK
	mrEABI      = C.MR_EABI
	mrENOSLOT   = C.MR_ENOSLOT
	mrENODEV    = C.MR_ENODEV
	mrEBUSY     = C.MR_EBUSY
	mrEDENIED   = C.MR_EDENIED
	mrEINVAL    = C.MR_EINVAL
	mrENOMEM    = C.MR_ENOMEM
	mrENOTREG   = C.MR_ENOTREG
	msgRegister = C.MR_MSG_REGISTER
	msgDereg    = C.MR_MSG_DEREGISTER
	msgOpen     = C.MR_MSG_VDEV_OPEN
	msgFds      = C.MR_MSG_VDEV_FDS
	msgClose    = C.MR_MSG_VDEV_CLOSE
)

// errName names an MR_E* code for logs.
func errName(code int32) string {
	switch code {
	case mrOK:
		return "MR_OK"
	case mrEABI:
		return "MR_EABI"
	case mrENOSLOT:
		return "MR_ENOSLOT"
	case mrENODEV:
		return "MR_ENODEV"
	case mrEBUSY:
		return "MR_EBUSY"
	case mrEDENIED:
		return "MR_EDENIED"
	case mrEINVAL:
		return "MR_EINVAL"
	case mrENOMEM:
		return "MR_ENOMEM"
	case mrENOTREG:
		return "MR_ENOTREG"
	}
	return "MR_E?"
}

// cstr reads a NUL-terminated string from a fixed-size C char array.
func cstr(p *C.char, n int) string {
	b := unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// setCstr writes s (truncated, NUL-terminated) into a fixed-size C array.
func setCstr(p *C.char, n int, s string) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
	k := copy(b[:n-1], s)
	clear(b[k:])
}

// errBuf is a C buffer for error text from the C side.
type errBuf struct{ p *C.char }

const errBufLen = 256

func newErrBuf() errBuf         { return errBuf{(*C.char)(C.calloc(1, errBufLen))} }
func (e errBuf) String() string { return C.GoString(e.p) }
func (e errBuf) free()          { C.free(unsafe.Pointer(e.p)) }
