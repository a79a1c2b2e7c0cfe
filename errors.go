package marsio

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps one of these, so
// callers can test them with errors.Is; the message around it says what was
// being done and what to check.
var (
	// ErrNoDaemon: no running mrzcpd was found (status file missing, stale,
	// or its runtime directory has no live primary).
	ErrNoDaemon = errors.New("marsio: mrzcpd is not running")
	// ErrConfig: a configuration or status file is unreadable or holds a
	// value out of range; the message names the file, section and key.
	ErrConfig = errors.New("marsio: bad configuration")
	// ErrDaemonGone: the daemon exited after Init; the instance is unusable
	// and every call returns this error.
	ErrDaemonGone = errors.New("marsio: mrzcpd exited")
	// ErrClosed: the instance (or the device) was closed.
	ErrClosed = errors.New("marsio: instance closed")
	// ErrBusy: the name is already taken (appsym already live, device
	// already open).
	ErrBusy = errors.New("marsio: busy")
	// ErrDenied: the daemon's configuration does not grant this application
	// the device.
	ErrDenied = errors.New("marsio: permission denied")
	// ErrNoDevice: unknown device symbol.
	ErrNoDevice = errors.New("marsio: no such device")
	// ErrInvalid: a bad argument (stream count, thread id, appsym length,
	// buffer count, …).
	ErrInvalid = errors.New("marsio: invalid argument")
	// ErrNoSpace: the daemon has no room left (application slots, memory,
	// eventfds).
	ErrNoSpace = errors.New("marsio: no space left in the daemon")
	// ErrVersion: the daemon speaks another ABI version than this library.
	ErrVersion = errors.New("marsio: ABI version mismatch")
	// ErrThread: thread misuse: a second ThreadInit on one OS thread, more
	// threads than configured, a call from a thread that is not the owner.
	ErrThread = errors.New("marsio: thread misuse")
	// ErrNoBuffers: the pool (and the thread's cache) had fewer free buffers
	// than asked for; nothing was allocated.
	ErrNoBuffers = errors.New("marsio: out of buffers")
	// ErrBadBuffer: a buffer that is not ours to free: freed twice, owned by
	// another application, or from a pool this instance does not know.
	ErrBadBuffer = errors.New("marsio: bad buffer")
	// ErrTimeout: the daemon did not answer a control request in time.
	ErrTimeout = errors.New("marsio: daemon did not answer")
)

// Error is the typed error behind most failures: the operation, the
// daemon's error code when there is one, the daemon's message, and a hint
// for the user. It matches its sentinel with errors.Is.
type Error struct {
	Op   string // "init", "open vdev0", "register", …
	Code int    // the daemon's MR_E* code, 0 when the error is local
	Msg  string // what went wrong
	Hint string // what to check
	Err  error  // the sentinel (or an underlying error wrapping one)
}

func (e *Error) Error() string {
	s := "marsio: " + e.Op + ": " + e.Msg
	if e.Code != 0 {
		s += fmt.Sprintf(" (daemon code %d)", e.Code)
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the sentinel or underlying error.
func (e *Error) Unwrap() error { return e.Err }

// codeErr maps a daemon reply's error code to a typed error.
func codeErr(op string, code int32, strerr string) error {
	var sentinel error
	hint := ""
	switch code {
	case codeEABI:
		sentinel, hint = ErrVersion, "rebuild the application against the daemon's version of gomarsio"
	case codeENOSLOT:
		sentinel, hint = ErrNoSpace, "too many applications registered"
	case codeENODEV:
		sentinel, hint = ErrNoDevice, "check the devsym against the [vdev:…] sections of the daemon's config"
	case codeEBUSY:
		sentinel, hint = ErrBusy, "another application (or this one) already holds it"
	case codeEDENIED:
		sentinel, hint = ErrDenied, "grant the application in the vdev's apps= key of the daemon's config"
	case codeEINVAL:
		sentinel = ErrInvalid
	case codeENOMEM:
		sentinel = ErrNoSpace
	case codeENOTREG:
		sentinel, hint = ErrDaemonGone, "the daemon no longer knows this application (restarted?)"
	default:
		sentinel = ErrInvalid
	}
	if strerr == "" {
		strerr = sentinel.Error()
	}
	return &Error{Op: op, Code: int(code), Msg: strerr, Hint: hint, Err: sentinel}
}

// errorf builds a local typed error.
func errorf(op string, sentinel error, hint string, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...), Hint: hint, Err: sentinel}
}

// wrapf wraps an underlying error (which may itself carry a sentinel) under
// a sentinel of ours.
func wrapf(op string, sentinel error, hint string, err error, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...) + ": " + err.Error(), Hint: hint, Err: errors.Join(sentinel, err)}
}
