package marsio

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto"
	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/shm"
)

// requestTimeout bounds every control request, as the seed's 30 s
// rte_mp_request_sync does.
const requestTimeout = 30 * time.Second

// memory is the attachment to the daemon: its mapped shared memory and the
// rte_mp channel (both from shm; with the `eal` build tag shm does the
// attach through DPDK's EAL instead of in pure Go).
//
// One process maps a daemon's memory once: instances of the same process
// attached to the same daemon (same runtime dir) share the attachment,
// which is detached when the last of them closes.
type memory struct {
	h        *shm.Handle
	ch       *ctrlproto.Channel
	key      string
	refs     int        // guarded by attachments.Mutex
	orphaned bool       // the daemon died: files released, no longer shared (attachments.Mutex)
	revive   []func()   // undo fastpath.AbandonMemory of the memseg lists, after the unmap
	reqMu    sync.Mutex // one control request at a time (rte_mp matches replies by name)
}

var attachments = struct {
	sync.Mutex
	m map[string]*memory
}{m: map[string]*memory{}}

// attach maps the daemon's memory. Prefix, runtime dir and hugepage dir come
// from the options, else from the daemon's status file, else from its
// config's [eal].
func attach(o *Options, st daemonInfo, c *ServiceConfig) (*memory, error) {
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	prefix := pick(o.FilePrefix, st.FilePrefix, c.EAL.FilePrefix)
	runDir := pick(o.RuntimeDir, st.RuntimeDir)
	if o.FilePrefix != "" && o.RuntimeDir == "" {
		runDir = "" // an explicit prefix selects its own runtime dir
	}
	key := runDir
	if key == "" {
		key = shm.RuntimeDir(prefix)
	}
	attachments.Lock()
	defer attachments.Unlock()
	if m := attachments.m[key]; m != nil {
		m.refs++
		return m, nil
	}
	h, err := attachShm(shm.Options{FilePrefix: prefix, RuntimeDir: runDir, HugeDir: pick(o.HugepageDir, st.HugeDir, c.EAL.HugeDir)})
	if err != nil {
		where := runDir
		if where == "" {
			where = shm.RuntimeDir(prefix)
		}
		switch {
		case errors.Is(err, shm.ErrNoPrimary), errors.Is(err, shm.ErrStalePrimary):
			return nil, wrapf("init", ErrNoDaemon, "is mrzcpd running with file prefix "+prefix+"? (set "+EnvFilePrefix+" or "+EnvRuntimeDir+")", err, "attach to %s", where)
		case errors.Is(err, shm.ErrVersion):
			return nil, wrapf("init", ErrVersion, "build the application against the daemon's DPDK version", err, "attach to %s", where)
		case errors.Is(err, os.ErrPermission):
			return nil, wrapf("init", ErrDenied, permissionHint(o), err, "attach to %s as uid %d", where, os.Getuid())
		}
		return nil, wrapf("init", ErrNoDaemon, "can this user open the daemon's runtime dir and hugepage files?", err, "attach to %s", where)
	}
	ch := h.Channel()
	if ch == nil {
		h.Detach()
		return nil, errorf("init", ErrNoDaemon, "", "attach to %s: no rte_mp channel", h.RuntimeDir())
	}
	m := &memory{h: h, ch: ch, key: key, refs: 1}
	attachments.m[key] = m
	return m, nil
}

// permissionHint says how a non-root user gets access to the daemon's
// runtime dir and hugepage files ([service] app_group, mrdoctor-style).
func permissionHint(o *Options) string {
	group := ""
	if d, err := monit.ReadDaemon(o.daemonStatusPath()); err == nil {
		group = d.General.AppGroup
	}
	if group == "" {
		return "the daemon gives its runtime dir and hugepage files to root only: set [service] app_group=<group> in its config, restart it and add this user to that group (or run as root)"
	}
	return "the daemon gives its runtime dir and hugepage files to group " + group +
		" ([service] app_group): add this user to it (usermod -aG " + group + " <user>, then log in again) or run as root"
}

// detach drops one reference; the last one unmaps.
func (m *memory) detach() error {
	if m == nil {
		return nil
	}
	attachments.Lock()
	defer attachments.Unlock()
	if m.refs--; m.refs > 0 {
		return nil
	}
	if attachments.m[m.key] == m {
		delete(attachments.m, m.key)
	}
	err := m.h.Detach()
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	// Unmapped: the next attach may map a live daemon's rings there.
	for _, f := range m.revive {
		f()
	}
	m.revive = nil
	return nil
}

// orphan is called when the daemon died. First its hugepage memory is
// declared dead to the ring code (fastpath.AbandonMemory): a ring wait for
// a tail the daemon reserved but never published (killed between the two)
// gives up instead of spinning forever, so the calls inside return and
// quiesce. The memory stays mapped until the last instance using it
// detaches (after awaitTold), but it is no longer handed to new attaches (a
// re-attach of another instance of this process must map the new daemon,
// and fails with ErrAddrInUse until the old memory is gone), and the files
// we hold in its runtime dir are released so that its successor can start
// (shm.Handle.ReleaseFiles).
func (m *memory) orphan() {
	if m == nil {
		return
	}
	attachments.Lock()
	defer attachments.Unlock()
	if m.orphaned {
		return
	}
	m.orphaned = true
	for _, l := range m.h.MemsegLists() {
		m.revive = append(m.revive, fastpath.AbandonMemory(l.Base, l.Base+l.Len))
	}
	if attachments.m[m.key] == m {
		delete(attachments.m, m.key)
	}
	m.h.ReleaseFiles()
}

// memzone returns a memzone's address and length.
func (m *memory) memzone(name string) (uintptr, uintptr, error) {
	z, err := m.h.Memzone(name)
	if err != nil {
		return 0, 0, err
	}
	return z.Addr, z.Len, nil
}

// contains says whether [addr, addr+n) lies in mapped shared memory; every
// address read from shared memory is checked with it before use.
func (m *memory) contains(addr, n uintptr) bool { return addr != 0 && m.h.Contains(addr, n) }

// request sends one control request to the daemon and returns its reply.
// fds travel with the request; the caller owns the reply's fds.
func (m *memory) request(op, name string, param []byte, fds []int) (*ctrlproto.Message, error) {
	m.reqMu.Lock()
	rep, err := m.ch.Request("", &ctrlproto.Message{Name: name, Param: param, Fds: fds}, requestTimeout)
	m.reqMu.Unlock()
	if err != nil {
		switch {
		case errors.Is(err, ctrlproto.ErrTimeout):
			return nil, wrapf(op, ErrTimeout, "is mrzcpd responding? (its log)", err, "%s", name)
		case errors.Is(err, ctrlproto.ErrIgnored):
			return nil, wrapf(op, ErrNoDaemon, "is the primary behind this file prefix mrzcpd?", err, "%s ignored", name)
		}
		return nil, wrapf(op, ErrNoDaemon, "is mrzcpd running?", err, "%s", name)
	}
	return rep, nil
}

// bytesOf views a fixed-size message struct as bytes.
func bytesOf[T any](p *T) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p)) }

// decode copies a reply's param into a message struct; short replies are
// an error (the daemon speaks another ABI).
func decode[T any](op string, rep *ctrlproto.Message, out *T) error {
	b := bytesOf(out)
	if len(rep.Param) < len(b) {
		closeFds(rep.Fds)
		return errorf(op, ErrVersion, "daemon and library ABIs differ", "%s reply has %d bytes, want %d", rep.Name, len(rep.Param), len(b))
	}
	copy(b, rep.Param)
	return nil
}

func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// register sends instance_alive_register with one end of a socketpair (the
// daemon keeps it: either side sees the other's death as a hang-up) and
// records slot, generation and app zone.
func (i *Instance) register() error {
	const op = "register"
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errorf(op, ErrNoSpace, "", "socketpair: %v", err)
	}
	req := abiMsgRegisterReq{AbiVersion: abiVersion, Pid: int32(os.Getpid()), NrThreads: uint32(i.nthreads), CacheSize: i.cfg.MempoolCacheSize}
	setcstr(req.Appsym[:], i.appsym)
	setcstr(req.MonitFile[:], i.opts.appStatusPath(i.appsym))
	rep, err := i.mem.request(op, abiMsgRegister, bytesOf(&req), []int{sp[0]})
	unix.Close(sp[0]) // the daemon has its own copy now (or never will)
	if err != nil {
		unix.Close(sp[1])
		return err
	}
	var r abiMsgRegisterRep
	if err := decode(op, rep, &r); err != nil {
		unix.Close(sp[1])
		return err
	}
	closeFds(rep.Fds)
	if r.Errcode != codeOK {
		unix.Close(sp[1])
		err := codeErr(op+" "+i.appsym, r.Errcode, cstr(r.Strerr[:]))
		if r.Errcode == codeEBUSY {
			err.(*Error).Hint = "another process already runs as " + i.appsym + " (or its slot is still being reclaimed)"
		}
		return err
	}
	bad := func(format string, args ...any) error {
		unix.Close(sp[1])
		return errorf(op, ErrVersion, "daemon and library ABIs differ", format, args...)
	}
	if r.Slot >= abiMaxApps {
		return bad("slot %d out of range", r.Slot)
	}
	if uintptr(r.Root) != uintptr(unsafe.Pointer(i.root)) {
		return bad("reply names root %#x, the memzone is at %p", r.Root, i.root)
	}
	if !i.mem.contains(uintptr(r.Zone), unsafe.Sizeof(abiAppZone{})) {
		return bad("app zone %#x outside shared memory", r.Zone)
	}
	if err := unix.SetNonblock(sp[1], true); err != nil {
		unix.Close(sp[1])
		return errorf(op, ErrNoSpace, "", "liveness socket: %v", err)
	}
	i.slot, i.gen, i.owner = r.Slot, r.Generation, r.Slot+1
	i.zone = (*abiAppZone)(ptrAt(uintptr(r.Zone)))
	i.liveFD = sp[1]
	i.live = os.NewFile(uintptr(sp[1]), "mrzcpd-liveness")
	return nil
}

// deregister tells the daemon we leave (instance_deregister). The daemon
// then reclaims whatever we still hold.
func (i *Instance) deregister() error {
	const op = "deregister"
	req := abiMsgDeregisterReq{Slot: i.slot, Pid: int32(os.Getpid()), Generation: i.gen}
	rep, err := i.mem.request(op, abiMsgDeregister, bytesOf(&req), nil)
	if err != nil {
		return err
	}
	var r abiMsgStatusRep
	if err := decode(op, rep, &r); err != nil {
		return err
	}
	closeFds(rep.Fds)
	if r.Errcode != codeOK {
		return codeErr(op, r.Errcode, cstr(r.Strerr[:]))
	}
	return nil
}

// openVdev sends vdev_instance_request and collects the per-stream rx
// eventfds (more than 8 take vdev_instance_fds follow-ups).
func (i *Instance) openVdev(devsym string, nrx, ntx int) (abiMsgVdevOpenRep, []int, error) {
	op := "open " + devsym
	req := abiMsgVdevOpenReq{Slot: i.slot, Pid: int32(os.Getpid()), Generation: i.gen, NrRxstream: uint32(nrx), NrTxstream: uint32(ntx)}
	setcstr(req.Devsym[:], devsym)
	setcstr(req.Appsym[:], i.appsym)
	var r abiMsgVdevOpenRep
	rep, err := i.mem.request(op, abiMsgVdevOpen, bytesOf(&req), nil)
	if err != nil {
		return r, nil, err
	}
	if err := decode(op, rep, &r); err != nil {
		return r, nil, err
	}
	if r.Errcode != codeOK {
		closeFds(rep.Fds)
		return r, nil, codeErr(op, r.Errcode, cstr(r.Strerr[:]))
	}
	fds := append([]int(nil), rep.Fds...)
	for len(fds) < int(r.NrRxstream) {
		fr := abiMsgVdevFdsReq{Slot: i.slot, VdevIndex: r.VdevIndex, First: uint32(len(fds))}
		rep, err := i.mem.request(op, abiMsgVdevFds, bytesOf(&fr), nil)
		if err == nil {
			var f abiMsgVdevFdsRep
			if err = decode(op, rep, &f); err == nil {
				switch {
				case f.Errcode != codeOK:
					closeFds(rep.Fds)
					err = codeErr(op, f.Errcode, "")
				case f.First != uint32(len(fds)) || int(f.Count) != len(rep.Fds) || f.Count == 0:
					closeFds(rep.Fds)
					err = errorf(op, ErrVersion, "", "fds reply first=%d count=%d with %d fds, asked from %d", f.First, f.Count, len(rep.Fds), len(fds))
				default:
					fds = append(fds, rep.Fds...)
					continue
				}
			}
		}
		closeFds(fds)
		i.closeVdev(r.VdevIndex)
		return r, nil, err
	}
	if len(fds) > int(r.NrRxstream) {
		closeFds(fds[r.NrRxstream:])
		fds = fds[:r.NrRxstream]
	}
	return r, fds, nil
}

// closeVdev releases a vdev instance at the daemon (vdev_instance_close).
func (i *Instance) closeVdev(index uint32) error {
	const op = "close device"
	req := abiMsgVdevCloseReq{Slot: i.slot, VdevIndex: index, Generation: i.gen}
	rep, err := i.mem.request(op, abiMsgVdevClose, bytesOf(&req), nil)
	if err != nil {
		return err
	}
	var r abiMsgStatusRep
	if err := decode(op, rep, &r); err != nil {
		return err
	}
	closeFds(rep.Fds)
	if r.Errcode != codeOK {
		return codeErr(op, r.Errcode, cstr(r.Strerr[:]))
	}
	return nil
}
