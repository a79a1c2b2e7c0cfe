package doctor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/shm"
	"github.com/gomarsio/marsio/zz_generated/abi"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

const fixStartDaemon = "start mrzcpd (as root: go run ./tools/mrzcpd -default-config), or point mrdoctor at its status files with -run-dir / $" + monit.EnvRunDir

// daemon checks mrmonit.daemon: present, well-formed, its writer alive and
// writing.
func (r *runner) daemon() {
	path := monit.DaemonPath(r.opts.RunDir)
	st, err := r.status, r.stErr
	r.status = nil
	switch {
	case errors.Is(err, monit.ErrNotExist):
		detail := "no status file " + path + ": mrzcpd is not running, or uses another run dir"
		if _, serr := os.Stat(r.opts.RunDir); serr != nil {
			detail = fmt.Sprintf("run dir %s does not exist: mrzcpd is not running, or uses another run dir", r.opts.RunDir)
		}
		r.add("daemon", Fail, detail, fixStartDaemon)
	case errors.Is(err, fs.ErrPermission):
		r.add("daemon", Fail, err.Error(), "run mrdoctor as root or as the user that runs mrzcpd")
	case err != nil:
		r.add("daemon", Fail, err.Error(), "the status file is corrupt; mrzcpd rewrites it every second: restart mrzcpd if it stays so")
	default:
		r.status = st
		if err := st.CheckAlive(path, r.opts.MaxAge); err != nil {
			fix := "the daemon is gone: restart mrzcpd (and mrdoctor -clean removes what it left behind)"
			if monit.ProcessAlive(st.General.Pid) {
				fix = fmt.Sprintf("mrzcpd pid %d is alive but not writing its status: look at its log; restart it if it hangs", st.General.Pid)
			}
			detail := err.Error()
			if len(st.StalledWorkers) > 0 {
				// The last file a daemon wrote before its stall exit.
				w := st.StalledWorkers[0]
				detail += fmt.Sprintf("; its stall watchdog found worker %d stuck (%s) at %s and it shut down (exit status 3)",
					w.Worker, w.Cause, time.Unix(0, w.Time).Format(time.RFC3339))
				fix = "an application died inside a shared pool ring operation, which DPDK cannot undo: restart mrzcpd (applications with WithReattach(true) re-attach); its log names the pool ring and the suspects"
			}
			r.add("daemon", Fail, detail, fix)
			break
		}
		up := ""
		if st.General.StartTime > 0 && st.General.UpdateTime >= st.General.StartTime {
			up = ", up " + time.Duration(st.General.UpdateTime-st.General.StartTime).Round(time.Second).String()
		}
		r.add("daemon", OK, fmt.Sprintf("mrzcpd pid %d%s, --file-prefix %s, %s, status %s", st.General.Pid, up,
			st.General.FilePrefix, st.General.DPDKVersion, path), "")
	}
}

// primary checks the DPDK primary of the selected prefix: alive, version,
// ABI, permissions and address ranges.
func (r *runner) primary() {
	r.prefix = r.opts.FilePrefix
	from := "-file-prefix"
	if r.prefix == "" && r.status != nil {
		r.prefix, from = r.status.General.FilePrefix, "the status file"
	}
	if r.prefix == "" {
		r.prefix, from = shm.DefaultFilePrefix, "EAL's default"
	}
	r.runtime = filepath.Join(r.opts.DPDKDir, r.prefix)
	if r.status != nil && r.status.General.FilePrefix == r.prefix && r.status.General.RuntimeDir != "" {
		r.runtime = r.status.General.RuntimeDir
	}
	cfg := filepath.Join(r.runtime, "config")
	pid, err := configLockHolder(cfg)
	if errors.Is(err, fs.ErrNotExist) && r.userDir {
		// EAL looked in this user's runtime dir; the primary (mrzcpd)
		// usually runs as root, with its runtime dir in root's.
		alt := filepath.Join(rootDPDKDir, r.prefix)
		if _, serr := os.Stat(alt); serr == nil || errors.Is(serr, fs.ErrPermission) {
			r.runtime, cfg = alt, filepath.Join(alt, "config")
			pid, err = configLockHolder(cfg)
		}
	}
	live := false
	switch {
	case errors.Is(err, fs.ErrPermission):
		r.add("primary", Fail, fmt.Sprintf("cannot open %s: %v", cfg, err),
			"run mrdoctor (and your application) as root or as the user that runs the primary")
	case errors.Is(err, fs.ErrNotExist):
		detail := fmt.Sprintf("no DPDK primary with --file-prefix %s (from %s): %s does not exist", r.prefix, from, cfg)
		if _, serr := os.Stat(r.runtime); serr == nil {
			detail = fmt.Sprintf("%s has no config file: the primary runs --in-memory or without shared config, so it cannot serve applications", r.runtime)
		}
		r.add("primary", Fail, detail, "start mrzcpd, or pass the -file-prefix it runs with")
	case err != nil:
		r.add("primary", Fail, err.Error(), "")
	case pid == 0:
		r.add("primary", Fail, fmt.Sprintf("%s is stale: no process holds the primary's lock on its config (the primary died)", r.runtime),
			"restart mrzcpd; mrdoctor -clean removes the stale files first")
	default:
		live = true
		if r.status != nil && r.status.General.FilePrefix == r.prefix && pid > 0 && pid != r.status.General.Pid {
			r.add("primary", Warn, fmt.Sprintf("%s is held by pid %d, but the status file names mrzcpd pid %d", r.runtime, pid, r.status.General.Pid),
				"another primary uses the same --file-prefix, or the status file is left from an earlier daemon")
		} else {
			r.add("primary", OK, fmt.Sprintf("%s holds %s", holder(pid), cfg), "")
		}
	}
	if !live {
		why := "not checked: no usable primary (see primary)"
		r.add("dpdk-version", Warn, why, "")
		r.add("abi-version", Warn, why, "")
		r.permissions(false)
		r.host(nil)
		return
	}
	ranges, verOK := r.dpdkVersion(cfg)
	// Probe the ranges before the ABI check attaches in this process, so a
	// fallback to an in-process probe does not find our own mappings.
	var probe *probeOutcome
	if len(ranges) > 0 {
		res, where := r.probeFresh(ranges)
		probe = &probeOutcome{ranges, res, where}
	}
	if verOK {
		r.abiVersion()
	} else {
		r.add("abi-version", Warn, "not checked: the primary's DPDK version differs from this build's (see dpdk-version)", "")
	}
	r.permissions(true)
	r.host(probe)
}

// dpdkVersion reads rte_mem_config's magic and version from config (both
// at the same offsets in every release) and, when the version is the one
// this build mirrors, the address ranges the primary uses.
func (r *runner) dpdkVersion(cfg string) ([]addrRange, bool) {
	data, err := os.ReadFile(cfg)
	if err != nil {
		r.add("dpdk-version", Fail, fmt.Sprintf("cannot read %s: %v", cfg, err), "run mrdoctor as root or as the user that runs the primary")
		return nil, false
	}
	if len(data) < 8 {
		r.add("dpdk-version", Fail, fmt.Sprintf("%s is %d bytes: truncated", cfg, len(data)), "restart the primary")
		return nil, false
	}
	magic := binary.LittleEndian.Uint32(data[dpdk.OffsetofMemConfigMagic:])
	ver := binary.LittleEndian.Uint32(data[dpdk.OffsetofMemConfigVersion:])
	if magic != dpdk.RTE_MAGIC {
		r.add("dpdk-version", Fail, fmt.Sprintf("%s: magic %#x, want %#x: the primary is still initialising, or this is not DPDK's rte_mem_config", cfg, magic, dpdk.RTE_MAGIC),
			"wait a second and run mrdoctor again; restart the primary if it stays so")
		return nil, false
	}
	rel := dpdk.DecodeVersion(ver)
	if err := dpdk.CheckVersion(ver); err != nil {
		r.add("dpdk-version", Fail, err.Error(),
			fmt.Sprintf("build the application for the primary's DPDK: go build -tags dpdk%02d%02d (or run an mrzcpd built against DPDK %s)", rel.Year, rel.Month, dpdk.Version))
		return nil, false
	}
	if len(data) < dpdk.SizeofMemConfig {
		r.add("dpdk-version", Fail, fmt.Sprintf("%s is %d bytes, rte_mem_config of DPDK %s needs %d", cfg, len(data), dpdk.Version, dpdk.SizeofMemConfig), "restart the primary")
		return nil, false
	}
	r.add("dpdk-version", OK, fmt.Sprintf("primary runs DPDK %s (rte_mem_config.version %#x); this build mirrors DPDK %s", rel, ver, dpdk.Version), "")
	return memConfigRanges(data), true
}

// memConfigRanges lists the address ranges a secondary must map at the
// primary's addresses: rte_mem_config itself, the memzone table's fbarray,
// and every memseg list's fbarray and reserved VA range.
func memConfigRanges(cfg []byte) []addrRange {
	u64 := func(off int) uint64 { return binary.LittleEndian.Uint64(cfg[off:]) }
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(cfg[off:]) }
	page := uint64(os.Getpagesize())
	round := func(n uint64) uint64 { return (n + page - 1) &^ (page - 1) }
	fbarray := func(off int, what string) (addrRange, bool) {
		n, elt, data := uint64(u32(off+dpdk.OffsetofFbarrayLen)), uint64(u32(off+dpdk.OffsetofFbarrayEltSz)), u64(off+dpdk.OffsetofFbarrayData)
		if data == 0 || n == 0 {
			return addrRange{}, false
		}
		// elements, then the used mask: n_masks word and (n+63)/64 uint64s.
		return addrRange{Addr: data, Len: round(elt*n + 8 + 8*((n+63)/64)), What: what}, true
	}
	var out []addrRange
	if a := u64(dpdk.OffsetofMemConfigMemCfgAddr); a != 0 {
		out = append(out, addrRange{Addr: a, Len: round(dpdk.SizeofMemConfig), What: "rte_mem_config"})
	}
	if fb, ok := fbarray(dpdk.OffsetofMemConfigMemzones, "memzone table"); ok {
		out = append(out, fb)
	}
	for i := 0; i < dpdk.RTE_MAX_MEMSEG_LISTS; i++ {
		off := dpdk.OffsetofMemConfigMemsegs + i*dpdk.SizeofMemsegList
		base, n := u64(off+dpdk.OffsetofMemsegListBaseVa), u64(off+dpdk.OffsetofMemsegListLen)
		if base == 0 || n == 0 {
			continue
		}
		if fb, ok := fbarray(off+dpdk.OffsetofMemsegListMemsegArr, fmt.Sprintf("memseg list %d fbarray", i)); ok {
			out = append(out, fb)
		}
		out = append(out, addrRange{Addr: base, Len: n, What: fmt.Sprintf("memseg list %d (%s pages)", i, kBString(u64(off+dpdk.OffsetofMemsegListPageSz)>>10))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// permissions checks that this user can do what an attaching application
// does: create its rte_mp socket in the runtime dir, open config, the
// fbarrays and the hugepage files read-write, and send to mp_socket.
func (r *runner) permissions(live bool) {
	type need struct {
		path string
		mode uint32
		what string
	}
	needs := []need{
		{r.runtime, unix.W_OK | unix.X_OK, "create mp_socket_<pid> in"},
		{filepath.Join(r.runtime, "config"), unix.R_OK | unix.W_OK, "open read-write"},
		{filepath.Join(r.runtime, "mp_socket"), unix.W_OK, "send to"},
	}
	if fbs, err := filepath.Glob(filepath.Join(r.runtime, "fbarray_*")); err == nil {
		for _, f := range fbs {
			needs = append(needs, need{f, unix.R_OK | unix.W_OK, "open read-write"})
		}
	}
	nHuge := 0
	for _, d := range r.hugeDirs {
		files, _ := filepath.Glob(filepath.Join(d, r.prefix+"map_*"))
		for _, f := range files {
			needs = append(needs, need{f, unix.R_OK | unix.W_OK, "open read-write"})
			nHuge++
		}
	}
	if _, err := os.Stat(r.runtime); errors.Is(err, fs.ErrNotExist) {
		r.add("permissions", Warn, "not checked: no runtime dir "+r.runtime, "")
		return
	}
	var denied, missing []string
	for _, n := range needs {
		err := unix.Faccessat(unix.AT_FDCWD, n.path, n.mode, unix.AT_EACCESS)
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOENT):
			missing = append(missing, n.path)
		default:
			denied = append(denied, fmt.Sprintf("%s %s (%v)", n.what, n.path, err))
		}
	}
	who := fmt.Sprintf("uid %d", os.Geteuid())
	switch {
	case len(denied) > 0:
		r.add("permissions", Fail, fmt.Sprintf("%s cannot %s", who, list(denied, 4)),
			"run the application (and mrdoctor) as root, or as the user that runs the primary")
	case live && len(missing) > 0 && contains(missing, filepath.Join(r.runtime, "mp_socket")):
		r.add("permissions", Warn, fmt.Sprintf("%s: no mp_socket in %s: the primary runs without multi-process IPC", who, r.runtime),
			"do not start the primary with --no-shconf / --in-memory, and do not call rte_mp_disable")
	case !live:
		r.add("permissions", Warn, fmt.Sprintf("%s may open %s and its files, but no live primary uses them", who, r.runtime), "")
	default:
		r.add("permissions", OK, fmt.Sprintf("%s may use %s (config, mp_socket, %s) and %s", who, r.runtime,
			plural(len(needs)-3-nHuge, "fbarray"), plural(nHuge, "hugepage file")), "")
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// abiVersion attaches to the primary without IPC (a short read-only look:
// nothing is written) and compares the root memzone's magic and ABI
// version with the ones this build was generated from.
func (r *runner) abiVersion() {
	if r.opts.NoAttach {
		r.add("abi-version", Warn, "not checked (attach disabled)", "")
		return
	}
	o := shm.Options{FilePrefix: r.prefix, RuntimeDir: r.runtime, NoIPC: true, Workers: 2}
	if r.status != nil && r.status.General.FilePrefix == r.prefix {
		o.HugeDir = r.status.General.HugeDir
	}
	h, err := shm.Attach(o)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrPermission):
			r.add("abi-version", Fail, fmt.Sprintf("cannot attach to the primary as uid %d: %v", os.Geteuid(), err),
				"attaching needs read-write access to the primary's runtime dir and hugepage files: run as root (or as mrzcpd's user)")
		case errors.Is(err, shm.ErrAddrInUse):
			r.add("abi-version", Fail, err.Error(), "see address-ranges")
		default:
			r.add("abi-version", Fail, fmt.Sprintf("cannot attach to the primary: %v", err), "")
		}
		return
	}
	defer h.Detach()
	mz, err := h.Memzone(abi.MR_ROOT_MEMZONE)
	if errors.Is(err, shm.ErrNotFound) {
		r.add("abi-version", Warn, fmt.Sprintf("the primary with --file-prefix %s has no %q memzone: it is not mrzcpd (testpmd?), or is still starting", r.prefix, abi.MR_ROOT_MEMZONE),
			"gomarsio applications need mrzcpd as their primary: start it, or pass its -file-prefix")
		return
	}
	if err != nil {
		r.add("abi-version", Fail, fmt.Sprintf("memzone %s: %v", abi.MR_ROOT_MEMZONE, err), "")
		return
	}
	if mz.Len < abi.SizeofRoot || !h.Contains(mz.Addr, abi.SizeofRoot) {
		r.add("abi-version", Fail, fmt.Sprintf("memzone %s is %d bytes at %#x, struct mr_root needs %d in mapped memory", abi.MR_ROOT_MEMZONE, mz.Len, mz.Addr, abi.SizeofRoot),
			"the daemon and this build disagree on the ABI: rebuild both from one gomarsio commit")
		return
	}
	// The daemon publishes magic last (release): load it first (acquire).
	magic := atomic.LoadUint32((*uint32)(ptr(mz.Addr + abi.OffsetofRootMagic)))
	ver := *(*uint32)(ptr(mz.Addr + abi.OffsetofRootAbiVersion))
	dver := *(*uint32)(ptr(mz.Addr + abi.OffsetofRootDpdkVersion))
	switch {
	case magic != abi.MR_ABI_MAGIC:
		r.add("abi-version", Fail, fmt.Sprintf("root memzone magic %#x, want %#x: mrzcpd is still initialising, or the memzone is not ours", magic, abi.MR_ABI_MAGIC),
			"wait a second and run mrdoctor again; restart mrzcpd if it stays so")
	case ver != abi.MR_ABI_VERSION:
		r.add("abi-version", Fail, fmt.Sprintf("mrzcpd speaks ABI version %d, this build ABI version %d", ver, abi.MR_ABI_VERSION),
			"build the application and mrzcpd from the same gomarsio release")
	default:
		extra := ""
		if r.status != nil && r.status.General.FilePrefix == r.prefix && r.status.General.ABIVersion != 0 && r.status.General.ABIVersion != ver {
			extra = fmt.Sprintf(" (but the status file says %d)", r.status.General.ABIVersion)
		}
		r.add("abi-version", OK, fmt.Sprintf("%s at %#x: magic ok, ABI version %d = this build's%s; daemon built for DPDK %s",
			abi.MR_ROOT_MEMZONE, mz.Addr, ver, extra, shm.VersionString(dver)), "")
	}
}

// ptr turns an address in memory mapped by shm into an unsafe.Pointer (not
// Go heap memory; the indirection keeps vet's unsafeptr check quiet about a
// conversion that is valid here).
func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }
