package daemon

/*
#include <stdlib.h>
#include "dp.h"
#include <string.h>
#include <rte_memzone.h>

// mr_trace_zone reserves and zeroes the data-path trace area.
static void *mr_trace_zone(const char *name, size_t len)
{
	const struct rte_memzone *mz =
		rte_memzone_reserve_aligned(name, len, SOCKET_ID_ANY, 0, 64);
	if (mz == NULL)
		return NULL;
	memset(mz->addr, 0, len);
	return mz->addr;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/gomarsio/marsio/internal/trace"
)

// The data-path trace area (issue 10, internal/trace): per-vdev controls
// that tools/mrtrace switches, one event ring per worker, then
// traceAppThreads rings per application slot (threads beyond that are not
// traced). The workers do not record events yet; applications do (app-rx,
// app-tx).
const (
	traceMemzone    = "mrtrace"
	traceAppThreads = 8
	traceRingSize   = 256
)

// setupTrace creates the trace area (tracing off everywhere).
func (d *daemon) setupTrace() error {
	workers := int(d.cfg.Service.Workers)
	rings := workers + maxApps*traceAppThreads
	size := trace.Size(maxVdevs, rings, traceRingSize)
	name := C.CString(traceMemzone)
	defer C.free(unsafe.Pointer(name))
	p := C.mr_trace_zone(name, C.size_t(size))
	if p == nil {
		return fmt.Errorf("memzone %s (%d bytes): %s", traceMemzone, size, C.GoString(C.mr_strerror_last()))
	}
	a, err := trace.Init(unsafe.Slice((*byte)(p), size), maxVdevs, rings, traceRingSize)
	if err == nil {
		err = a.SetRoles(workers, traceAppThreads)
	}
	if err != nil {
		return fmt.Errorf("memzone %s: %w", traceMemzone, err)
	}
	d.log.Printf("trace area %s: %d KiB, %d rings of %d events (off)", traceMemzone, size>>10, rings, traceRingSize)
	return nil
}
