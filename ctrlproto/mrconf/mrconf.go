// Package mrconf is the typed configuration schema of mrzcpd and of the
// applications attached to it, read from the seed's INI ("MESA profile")
// files with package profile.
//
// Files and their defaults (DESIGN.md §8), every one overridable:
//
//	global config   /opt/tsg/mrzcpd/etc/mrglobal.conf   env MRZCPD_CONFIG
//	per-app config  mrapp.<appsym>.conf beside the global config
//
// Sections of the global config:
//
//	[eal]              virtaddr, nohuge, loglevel (1..8), file_prefix,
//	                   lcores or coremask, memory (MB), huge_dir, extra_args
//	[service]          the seed's keys and defaults (poll_wait_enable=1,
//	                   poll_wait_throttle_usleep_threshold=32,
//	                   poll_wait_throttle_usleep_period=5,
//	                   poll_wait_throttle_notify_threshold=256,
//	                   vdev_buffer_size=512, mp_cache_size=256, distmode=0,
//	                   hashmode=0) plus the daemon's workers, burst, hash_seed,
//	                   metrics_listen (Prometheus /metrics: host:port, default
//	                   127.0.0.1:9465 (loopback only), or off), app_group
//	                   (a group whose members may run applications without
//	                   root: the daemon gives it its runtime dir, hugepage
//	                   files and status dir; default none = root only)
//	[pool:MZ…]         an mbuf pool: size, cache, data_room, priv_size, socket
//	[port:NAME]        a port: devargs (a DPDK vdev such as
//	                   net_pcap0,rx_pcap=…) or pci (put on the allow-list),
//	                   rx_queues, tx_queues, rx_desc, tx_desc, pool, promisc, mtu
//	[vdev:DEVSYM]      what applications open: port, rx_streams_max,
//	                   tx_streams_max, ring_size, pool, apps (grants: a list
//	                   of appsyms or *), hold_rx; read by the application
//	                   library: addrs (the vdev's own IPv4/IPv6 prefixes:
//	                   ARP/ND is answered and learned when set), representor
//	                   (1: a kernel TAP per open), representor_name,
//	                   representor_addrs (default addrs)
//	[service] neigh_*  neighbour tables (the seed's MRAPP_DEFAULT_NEIGH_*):
//	                   neigh_max_entries=4096, neigh_timeout=0 (s, 0 = never),
//	                   neigh_arp_interval=1000 (ms), neigh_gratuitous_arps=3
//
// Applications read only [eal] and [service]: the global file first, then
// their own file's keys on top (LoadApp).
//
// Every bad value is one *profile.Error naming the file, section, key and
// why, matching profile.ErrInvalid (and ErrConfig) with errors.Is.
package mrconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/gomarsio/marsio/ctrlproto/profile"
)

// Default paths and the environment variables that override them.
const (
	DefaultGlobalConfig = "/opt/tsg/mrzcpd/etc/mrglobal.conf"
	EnvConfig           = "MRZCPD_CONFIG"      // global config path
	EnvFilePrefix       = "MRZCPD_FILE_PREFIX" // overrides [eal] file_prefix
	EnvHugeDir          = "MRZCPD_HUGE_DIR"    // overrides [eal] huge_dir
	DefaultFilePrefix   = "rte"                // DPDK's own default, as the seed's apps assume
)

// Limits mirrored from gen/abi/mrzcpd_abi.h and DPDK 22.11.
const (
	MaxVdevs         = 32   // MR_MAX_VDEVS
	MaxPools         = 8    // MR_MAX_POOLS
	MaxStreams       = 64   // MR_MAX_STREAMS
	MaxSymbol        = 63   // MR_SYMBOL_MAX - 1
	MaxMempoolCache  = 512  // RTE_MEMPOOL_CACHE_MAX_SIZE
	MaxPoolName      = 24   // "MP_"+name must fit RTE_RING_NAMESIZE-1 with room; RTE_MEMPOOL_NAMESIZE is 26
	DefaultRingSize  = 1024 // [vdev:] ring_size
	DefaultPoolSize  = 8191 // [pool:] size (2^n-1 is optimal for ring mempools)
	DefaultDataRoom  = 2176 // RTE_MBUF_DEFAULT_BUF_SIZE
	DefaultPoolCache = 256  // [pool:] cache (DPDK's own per-lcore cache, daemon side)
	DefaultDesc      = 1024 // [port:] rx_desc, tx_desc
	// DefaultMetricsListen is [service] metrics_listen: loopback only.
	DefaultMetricsListen = "127.0.0.1:9465"
)

// Distribution and hash modes (the seed's [service] distmode/hashmode; the
// values of MR_DIST_* / MR_HASH_* in the ABI and of flowhash.DistMode /
// flowhash.HashMode).
const (
	DistOuterTuple2 = 0
	DistOuterTuple4 = 1
	DistInnerTuple2 = 2
	DistInnerTuple4 = 3
	HashSymCRC      = 0
	HashSymXXHash   = 1
)

// ErrConfig is matched (errors.Is) by every configuration error of this
// package, including profile syntax and value errors.
var ErrConfig = errors.New("configuration error")

// EAL is the [eal] section.
type EAL struct {
	Virtaddr   uint64   // virtaddr: --base-virtaddr; 0 = not set
	NoHuge     bool     // nohuge: --no-huge (no secondaries possible)
	LogLevel   uint     // loglevel 1..8: --log-level; 0 = not set (DPDK's default)
	FilePrefix string   // file_prefix: --file-prefix; default "rte", env MRZCPD_FILE_PREFIX
	Lcores     string   // lcores: -l list for the daemon (e.g. "0-1"); empty = see Coremask
	Coremask   uint64   // coremask: -c mask; used when Lcores is empty; 0 = "-l 0"
	MemoryMB   uint     // memory: -m MB; 0 = DPDK's default (grow on demand)
	HugeDir    string   // huge_dir: --huge-dir; empty = DPDK's default; env MRZCPD_HUGE_DIR
	ExtraArgs  []string // extra_args: more EAL arguments, blank-separated
}

// Service is the [service] section. The first eight fields are the seed's.
type Service struct {
	PollWaitEnable                  bool   // poll_wait_enable=1
	PollWaitThrottleUsleepThreshold uint32 // poll_wait_throttle_usleep_threshold=32
	PollWaitThrottleUsleepPeriod    uint32 // poll_wait_throttle_usleep_period=5 (µs)
	PollWaitThrottleNotifyThreshold uint32 // poll_wait_throttle_notify_threshold=256
	VdevBufferSize                  uint32 // vdev_buffer_size=512
	MpCacheSize                     uint32 // mp_cache_size=256 (app per-thread mempool cache)
	DistMode                        uint32 // distmode=0 (Dist*)
	HashMode                        uint32 // hashmode=0 (Hash*)
	// Daemon only.
	Workers  uint32 // workers=1: dataplane threads of the daemon
	Burst    uint32 // burst=32: rx/tx burst size of the daemon
	HashSeed uint32 // hash_seed=0: seed of the flow hash (published in mr_root)
	// MetricsListen is metrics_listen=127.0.0.1:9465: where the daemon
	// serves Prometheus /metrics (host:port; "off" disables it).
	MetricsListen string
	// AppGroup is app_group=NAME (or a numeric gid): the group whose
	// members may run applications without root. The daemon makes its
	// runtime dir, sockets, hugepage files and status dir accessible to
	// it. Empty (the default): root only.
	AppGroup string
	// Neighbour tables of the application library (the seed's defaults).
	NeighMaxEntries     uint32 // neigh_max_entries=4096
	NeighTimeout        uint32 // neigh_timeout=0 (seconds; 0 = learned entries never expire)
	NeighARPInterval    uint32 // neigh_arp_interval=1000 (ms between requests per next hop)
	NeighGratuitousARPs uint32 // neigh_gratuitous_arps=3 (per address when a device opens)
}

// DefaultService returns [service] with the seed's defaults.
func DefaultService() Service {
	return Service{
		PollWaitEnable:                  true,
		PollWaitThrottleUsleepThreshold: 32,
		PollWaitThrottleUsleepPeriod:    5,
		PollWaitThrottleNotifyThreshold: 256,
		VdevBufferSize:                  512,
		MpCacheSize:                     256,
		DistMode:                        DistOuterTuple2,
		HashMode:                        HashSymCRC,
		Workers:                         1,
		Burst:                           32,
		MetricsListen:                   DefaultMetricsListen,
		NeighMaxEntries:                 4096,
		NeighARPInterval:                1000,
		NeighGratuitousARPs:             3,
	}
}

// DefaultEAL returns [eal] with its defaults.
func DefaultEAL() EAL { return EAL{FilePrefix: DefaultFilePrefix} }

// Pool is a [pool:MZ…] section: an mbuf pool created by the daemon.
type Pool struct {
	Name     string // section suffix, starts with "MZ"
	Size     uint32 // size=8191 mbufs
	Cache    uint32 // cache=256: DPDK's per-lcore cache (daemon side)
	DataRoom uint32 // data_room=2176 (headroom included)
	PrivSize uint32 // priv_size=0 (multiple of 8)
	Socket   int    // socket=-1 (any)
}

// Port is a [port:NAME] section.
type Port struct {
	Name     string // section suffix
	Devargs  string // devargs: a vdev ("net_pcap0,rx_pcap=…") or, with PCI, extra device args
	PCI      string // pci: a PCI address (0000:03:00.0), put on the EAL allow-list
	RxQueues uint32 // rx_queues=1
	TxQueues uint32 // tx_queues=1
	RxDesc   uint32 // rx_desc=1024
	TxDesc   uint32 // tx_desc=1024
	Pool     string // pool: rx mbuf pool; default the first pool
	Promisc  bool   // promisc=1
	MTU      uint32 // mtu=0 (leave as is)
}

// IsVdev reports whether the port is a DPDK virtual device (devargs) rather
// than a PCI device.
func (p *Port) IsVdev() bool { return p.PCI == "" }

// Driver returns the vdev name (devargs up to the first comma), for
// example "net_pcap0"; for a PCI port, the PCI address.
func (p *Port) Driver() string {
	if p.PCI != "" {
		return p.PCI
	}
	name, _, _ := strings.Cut(p.Devargs, ",")
	return name
}

// DeviceArg returns the EAL argument that creates the port: the --vdev or
// -a (allow-list) value.
func (p *Port) DeviceArg() string {
	if p.PCI == "" {
		return p.Devargs
	}
	if p.Devargs != "" {
		return p.PCI + "," + p.Devargs
	}
	return p.PCI
}

// Vdev is a [vdev:DEVSYM] section: what applications open.
type Vdev struct {
	Devsym       string   // section suffix
	Port         string   // port: name of a [port:] section (required)
	RxStreamsMax uint32   // rx_streams_max=8
	TxStreamsMax uint32   // tx_streams_max=8
	RingSize     uint32   // ring_size=1024, power of two
	Pool         string   // pool: default the port's pool
	Apps         []string // apps: appsyms allowed to open it; ["*"] (default) = any
	// HoldRx (hold_rx=0): when set, the daemon does not poll the port while
	// no application has the vdev open, so packets wait in the port (a
	// pcap replay starts when the app opens) instead of being counted as
	// no_app and dropped.
	HoldRx bool
	// Addrs (addrs=10.0.0.1/24,fd00::1/64): the vdev's own addresses, for
	// which the application library answers ARP/ND; empty (default) = the
	// library does not look at received frames.
	Addrs []netip.Prefix
	// Representor (representor=0): opening the vdev also creates a kernel
	// TAP interface mirroring it.
	Representor bool
	// RepresentorName (representor_name): the TAP's name; empty = derived
	// from the devsym (internal/tap.IfName).
	RepresentorName string
	// RepresentorAddrs (representor_addrs): the TAP's addresses; default
	// Addrs.
	RepresentorAddrs []netip.Prefix
}

// Allows reports whether appsym may open the vdev.
func (v *Vdev) Allows(appsym string) bool {
	for _, a := range v.Apps {
		if a == "*" || a == appsym {
			return true
		}
	}
	return false
}

// Config is the whole global configuration (the daemon's view).
type Config struct {
	Path    string // file it was read from ("<embedded>" for built-in text)
	EAL     EAL
	Service Service
	Pools   []Pool
	Ports   []Port
	Vdevs   []Vdev
}

// App is an application's view: [eal] and [service] of the global config
// with the app file's keys on top.
type App struct {
	GlobalPath string // the global config
	AppPath    string // mrapp.<appsym>.conf (may not exist)
	EAL        EAL
	Service    Service
}

// AppConfigPath returns the seed's per-app config path: mrapp.<appsym>.conf
// in the directory of the global config.
func AppConfigPath(globalPath, appsym string) string {
	return filepath.Join(filepath.Dir(globalPath), "mrapp."+appsym+".conf")
}

// GlobalConfigPath returns $MRZCPD_CONFIG if set, else DefaultGlobalConfig.
func GlobalConfigPath() string {
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	return DefaultGlobalConfig
}

// Load reads and validates the global config at path.
func Load(path string) (*Config, error) {
	f, err := profile.Load(path)
	if err != nil {
		return nil, wrap(err)
	}
	return FromProfile(f)
}

// Parse parses and validates a global config held in memory; name labels
// it in errors.
func Parse(name string, data []byte) (*Config, error) {
	f, err := profile.Parse(name, data)
	if err != nil {
		return nil, wrap(err)
	}
	return FromProfile(f)
}

// LoadApp reads [eal] and [service] from the global config and, when it
// exists, the app's config on top of it (key by key).
func LoadApp(globalPath, appPath string) (*App, error) {
	g, err := profile.Load(globalPath)
	if err != nil {
		return nil, wrap(err)
	}
	a := &App{GlobalPath: globalPath, AppPath: appPath}
	merged := profile.New(globalPath)
	for _, sec := range []string{"eal", "service"} {
		for _, e := range entries(g.Section(sec)) {
			merged.Set(sec, e.Key, e.Value)
		}
	}
	if appPath != "" {
		af, err := profile.Load(appPath)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, wrap(err)
		default:
			// Errors about merged keys name the app file when it set them.
			for _, sec := range []string{"eal", "service"} {
				for _, e := range entries(af.Section(sec)) {
					merged.Set(sec, e.Key, e.Value)
				}
			}
			if err := checkSections(af, "eal", "service"); err != nil {
				return nil, err
			}
			if a.EAL, a.Service, err = parseCommon(af, merged); err != nil {
				return nil, err
			}
			return a, nil
		}
	}
	if a.EAL, a.Service, err = parseCommon(g, merged); err != nil {
		return nil, err
	}
	return a, nil
}

func entries(s *profile.Section) []profile.Entry {
	if s == nil {
		return nil
	}
	return s.Entries
}

func checkSections(f *profile.File, allowed ...string) error {
	for _, s := range f.Sections() {
		ok := false
		for _, a := range allowed {
			if s.Name == a {
				ok = true
			}
		}
		if !ok {
			return wrap(f.InvalidSection(s.Name, "unknown section in an application config (allowed: "+
				strings.Join(allowed, ", ")+")"))
		}
	}
	return nil
}

// wrap makes a profile error also match ErrConfig.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return &configError{err}
}

type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() []error {
	return []error{e.err, ErrConfig}
}

// errf is the file that names errors (the app file when it set the key);
// f holds the values.
func parseCommon(errf, f *profile.File) (EAL, Service, error) {
	e := DefaultEAL()
	s := DefaultService()
	// Errors are reported against errf when errf has the key, else f.
	src := func(sec, key string) *profile.File {
		if _, ok := errf.Get(sec, key); ok {
			return errf
		}
		return f
	}
	fail := func(sec, key string, err error) error {
		var pe *profile.Error
		if errors.As(err, &pe) {
			return wrap(src(sec, key).Invalid(sec, key, pe.Reason))
		}
		return wrap(err)
	}
	u := func(sec, key string, def, min, max uint64) (uint64, error) {
		v, err := f.Uint(sec, key, def, min, max)
		if err != nil {
			return 0, fail(sec, key, err)
		}
		return v, nil
	}
	var err error
	known := []string{"virtaddr", "nohuge", "loglevel", "file_prefix", "lcores", "coremask", "memory",
		"huge_dir", "extra_args"}
	if err := f.Unknown("eal", known...); err != nil {
		var pe *profile.Error
		errors.As(err, &pe)
		return e, s, wrap(src("eal", pe.Key).Invalid("eal", pe.Key, pe.Reason))
	}
	if e.Virtaddr, err = u("eal", "virtaddr", 0, 0, 1<<47-1); err != nil {
		return e, s, err
	}
	if e.NoHuge, err = f.Bool("eal", "nohuge", false); err != nil {
		return e, s, fail("eal", "nohuge", err)
	}
	ll, err := u("eal", "loglevel", 0, 1, 8)
	if err != nil {
		return e, s, fail("eal", "loglevel", withReason(err, "must be between LOG_EMERG(1) and LOG_DEBUG(8)"))
	}
	e.LogLevel = uint(ll)
	e.FilePrefix = f.String("eal", "file_prefix", DefaultFilePrefix)
	if !validSymbol(e.FilePrefix) {
		return e, s, wrap(src("eal", "file_prefix").Invalid("eal", "file_prefix",
			"must be 1..63 characters of [A-Za-z0-9_.-]"))
	}
	e.Lcores = f.String("eal", "lcores", "")
	if e.Lcores != "" && !lcoresRE.MatchString(e.Lcores) {
		return e, s, wrap(src("eal", "lcores").Invalid("eal", "lcores", "must be a list like 0-1,3"))
	}
	if e.Coremask, err = u("eal", "coremask", 0, 0, ^uint64(0)); err != nil {
		return e, s, err
	}
	mem, err := u("eal", "memory", 0, 0, 1<<20)
	if err != nil {
		return e, s, err
	}
	e.MemoryMB = uint(mem)
	e.HugeDir = f.String("eal", "huge_dir", "")
	e.ExtraArgs = strings.Fields(f.String("eal", "extra_args", ""))

	daemonKeys := []string{"workers", "burst", "hash_seed", "metrics_listen", "app_group"}
	knownS := []string{"poll_wait_enable", "poll_wait_throttle_usleep_threshold", "poll_wait_throttle_usleep_period",
		"poll_wait_throttle_notify_threshold", "vdev_buffer_size", "mp_cache_size", "distmode", "hashmode",
		"neigh_max_entries", "neigh_timeout", "neigh_arp_interval", "neigh_gratuitous_arps"}
	knownS = append(knownS, daemonKeys...)
	if err := f.Unknown("service", knownS...); err != nil {
		var pe *profile.Error
		errors.As(err, &pe)
		return e, s, wrap(src("service", pe.Key).Invalid("service", pe.Key, pe.Reason))
	}
	if s.PollWaitEnable, err = f.Bool("service", "poll_wait_enable", s.PollWaitEnable); err != nil {
		return e, s, fail("service", "poll_wait_enable", err)
	}
	for _, c := range []struct {
		key      string
		p        *uint32
		min, max uint64
	}{
		{"poll_wait_throttle_usleep_threshold", &s.PollWaitThrottleUsleepThreshold, 0, 1 << 20},
		{"poll_wait_throttle_usleep_period", &s.PollWaitThrottleUsleepPeriod, 0, 1000000},
		{"poll_wait_throttle_notify_threshold", &s.PollWaitThrottleNotifyThreshold, 0, 1 << 20},
		{"vdev_buffer_size", &s.VdevBufferSize, 1, 65536},
		{"mp_cache_size", &s.MpCacheSize, 0, MaxMempoolCache},
		{"distmode", &s.DistMode, 0, DistInnerTuple4},
		{"hashmode", &s.HashMode, 0, HashSymXXHash},
		{"workers", &s.Workers, 1, 64},
		{"burst", &s.Burst, 1, 512},
		{"hash_seed", &s.HashSeed, 0, 1<<32 - 1},
		{"neigh_max_entries", &s.NeighMaxEntries, 1, 1 << 20},
		{"neigh_timeout", &s.NeighTimeout, 0, 1 << 31},
		{"neigh_arp_interval", &s.NeighARPInterval, 1, 3600000},
		{"neigh_gratuitous_arps", &s.NeighGratuitousARPs, 0, 100},
	} {
		v, err := u("service", c.key, uint64(*c.p), c.min, c.max)
		if err != nil {
			switch c.key {
			case "distmode":
				err = fail("service", c.key, withReason(err, "must be 0..3 (outer 2-tuple, outer 4-tuple, inner 2-tuple, inner 4-tuple)"))
			case "hashmode":
				err = fail("service", c.key, withReason(err, "must be 0..1 (symmetric CRC, symmetric xxhash)"))
			}
			return e, s, err
		}
		*c.p = uint32(v)
	}
	s.MetricsListen = f.String("service", "metrics_listen", s.MetricsListen)
	if !validListen(s.MetricsListen) {
		return e, s, wrap(src("service", "metrics_listen").Invalid("service", "metrics_listen",
			"must be host:port (e.g. 127.0.0.1:9465, :9465 for every interface) or off"))
	}
	s.AppGroup = f.String("service", "app_group", s.AppGroup)
	if !appGroupRE.MatchString(s.AppGroup) {
		return e, s, wrap(src("service", "app_group").Invalid("service", "app_group",
			"must be a group name (letters, digits, '_', '-', '.') or a numeric gid"))
	}
	return e, s, nil
}

// appGroupRE matches an empty app_group, a group name or a gid.
var appGroupRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})?$`)

// validListen accepts "off" and host:port with a numeric port.
func validListen(a string) bool {
	if strings.EqualFold(a, "off") {
		return true
	}
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// withReason replaces the reason of a range error, keeping "not an
// unsigned integer" as is.
func withReason(err error, reason string) error {
	var pe *profile.Error
	if errors.As(err, &pe) && !strings.HasPrefix(pe.Reason, "not ") {
		c := *pe
		c.Reason = reason
		return &c
	}
	return err
}

var (
	lcoresRE  = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)
	symbolRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,63}$`)
	pciRE     = regexp.MustCompile(`^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)
	vdevArgRE = regexp.MustCompile(`^(net|eth)_[A-Za-z0-9_]+$`)
)

func validSymbol(s string) bool { return symbolRE.MatchString(s) }

// ValidSymbol reports whether s is a valid devsym, appsym or pool name:
// 1..63 characters of [A-Za-z0-9_.-].
func ValidSymbol(s string) bool { return validSymbol(s) }

// FromProfile validates a parsed global config.
func FromProfile(f *profile.File) (*Config, error) {
	c := &Config{Path: f.Name}
	var err error
	if c.EAL, c.Service, err = parseCommon(f, f); err != nil {
		return nil, err
	}
	for _, s := range f.Sections() {
		switch {
		case s.Name == "eal", s.Name == "service":
		case strings.HasPrefix(s.Name, "pool:"), strings.HasPrefix(s.Name, "port:"), strings.HasPrefix(s.Name, "vdev:"):
		default:
			return nil, wrap(f.InvalidSection(s.Name, "unknown section (known: eal, service, pool:NAME, port:NAME, vdev:DEVSYM)"))
		}
	}
	if err := c.parsePools(f); err != nil {
		return nil, err
	}
	if err := c.parsePorts(f); err != nil {
		return nil, err
	}
	if err := c.parseVdevs(f); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) parsePools(f *profile.File) error {
	secs := f.SectionsWithPrefix("pool:")
	if len(secs) > MaxPools {
		return wrap(f.InvalidSection(secs[MaxPools].Name, fmt.Sprintf("more than %d pools", MaxPools)))
	}
	for _, s := range secs {
		name := strings.TrimPrefix(s.Name, "pool:")
		if !strings.HasPrefix(name, "MZ") || len(name) > MaxPoolName || !validSymbol(name) {
			return wrap(f.InvalidSection(s.Name, fmt.Sprintf("pool name must start with MZ and be at most %d characters of [A-Za-z0-9_.-]", MaxPoolName)))
		}
		if err := f.Unknown(s.Name, "size", "cache", "data_room", "priv_size", "socket"); err != nil {
			return wrap(err)
		}
		p := Pool{Name: name}
		var err error
		var v uint64
		if v, err = f.Uint(s.Name, "size", DefaultPoolSize, 64, 1<<24); err != nil {
			return wrap(err)
		}
		p.Size = uint32(v)
		if v, err = f.Uint(s.Name, "cache", DefaultPoolCache, 0, MaxMempoolCache); err != nil {
			return wrap(err)
		}
		p.Cache = uint32(v)
		if p.Cache > 0 && uint64(p.Cache)*3/2 > uint64(p.Size) {
			return wrap(f.Invalid(s.Name, "cache", fmt.Sprintf("must be <= size/1.5 (%d)", p.Size*2/3)))
		}
		if v, err = f.Uint(s.Name, "data_room", DefaultDataRoom, 256+128, 65535); err != nil {
			return wrap(err)
		}
		p.DataRoom = uint32(v)
		if v, err = f.Uint(s.Name, "priv_size", 0, 0, 4096); err != nil {
			return wrap(err)
		}
		if v%8 != 0 {
			return wrap(f.Invalid(s.Name, "priv_size", "must be a multiple of 8"))
		}
		p.PrivSize = uint32(v)
		p.Socket = -1
		if sv, ok := f.Get(s.Name, "socket"); ok {
			n, err := strconv.Atoi(sv)
			if err != nil || n < -1 || n > 7 {
				return wrap(f.Invalid(s.Name, "socket", "must be -1 (any) or 0..7"))
			}
			p.Socket = n
		}
		c.Pools = append(c.Pools, p)
	}
	if len(c.Pools) == 0 {
		c.Pools = []Pool{{Name: "MZ0", Size: DefaultPoolSize, Cache: DefaultPoolCache, DataRoom: DefaultDataRoom, Socket: -1}}
	}
	return nil
}

// PoolIndex returns the index of the named pool, or -1.
func (c *Config) PoolIndex(name string) int {
	for i := range c.Pools {
		if c.Pools[i].Name == name {
			return i
		}
	}
	return -1
}

// PortIndex returns the index of the named port, or -1.
func (c *Config) PortIndex(name string) int {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return i
		}
	}
	return -1
}

// Vdev returns the vdev with the given devsym, or nil.
func (c *Config) Vdev(devsym string) *Vdev {
	for i := range c.Vdevs {
		if c.Vdevs[i].Devsym == devsym {
			return &c.Vdevs[i]
		}
	}
	return nil
}

// HasPCI reports whether any port is a PCI device (then the daemon passes
// an allow-list instead of --no-pci).
func (c *Config) HasPCI() bool {
	for i := range c.Ports {
		if c.Ports[i].PCI != "" {
			return true
		}
	}
	return false
}

func (c *Config) parsePorts(f *profile.File) error {
	drivers := map[string]string{}
	for _, s := range f.SectionsWithPrefix("port:") {
		name := strings.TrimPrefix(s.Name, "port:")
		if !validSymbol(name) {
			return wrap(f.InvalidSection(s.Name, "port name must be 1..63 characters of [A-Za-z0-9_.-]"))
		}
		if err := f.Unknown(s.Name, "devargs", "pci", "rx_queues", "tx_queues", "rx_desc", "tx_desc", "pool",
			"promisc", "mtu"); err != nil {
			return wrap(err)
		}
		p := Port{Name: name, Devargs: f.String(s.Name, "devargs", ""), PCI: f.String(s.Name, "pci", "")}
		switch {
		case p.PCI != "":
			if !pciRE.MatchString(p.PCI) {
				return wrap(f.Invalid(s.Name, "pci", "must be a PCI address such as 0000:03:00.0"))
			}
		case p.Devargs == "":
			return wrap(f.InvalidSection(s.Name, "needs devargs (a DPDK vdev such as net_pcap0,rx_pcap=FILE) or pci (an address)"))
		default:
			if !vdevArgRE.MatchString(p.Driver()) {
				return wrap(f.Invalid(s.Name, "devargs", "must start with a vdev name such as net_pcap0, net_ring0, net_null0, net_tap0, net_af_packet0"))
			}
		}
		if prev, dup := drivers[p.Driver()]; dup {
			return wrap(f.Invalid(s.Name, map[bool]string{true: "devargs", false: "pci"}[p.PCI == ""],
				"device "+p.Driver()+" already used by [port:"+prev+"]"))
		}
		drivers[p.Driver()] = name
		for _, k := range []struct {
			key      string
			p        *uint32
			def, max uint64
		}{{"rx_queues", &p.RxQueues, 1, 64}, {"tx_queues", &p.TxQueues, 1, 64},
			{"rx_desc", &p.RxDesc, DefaultDesc, 32768}, {"tx_desc", &p.TxDesc, DefaultDesc, 32768},
			{"mtu", &p.MTU, 0, 65535}} {
			min := uint64(1)
			if k.key == "mtu" {
				min = 0
			}
			v, err := f.Uint(s.Name, k.key, k.def, min, k.max)
			if err != nil {
				return wrap(err)
			}
			*k.p = uint32(v)
		}
		var err error
		if p.Promisc, err = f.Bool(s.Name, "promisc", true); err != nil {
			return wrap(err)
		}
		p.Pool = f.String(s.Name, "pool", c.Pools[0].Name)
		if c.PoolIndex(p.Pool) < 0 {
			return wrap(f.Invalid(s.Name, "pool", "no such [pool:"+p.Pool+"]"))
		}
		c.Ports = append(c.Ports, p)
	}
	return nil
}

func (c *Config) parseVdevs(f *profile.File) error {
	secs := f.SectionsWithPrefix("vdev:")
	if len(secs) > MaxVdevs {
		return wrap(f.InvalidSection(secs[MaxVdevs].Name, fmt.Sprintf("more than %d vdevs", MaxVdevs)))
	}
	usedPort := map[string]string{}
	for _, s := range secs {
		devsym := strings.TrimPrefix(s.Name, "vdev:")
		if !validSymbol(devsym) {
			return wrap(f.InvalidSection(s.Name, "devsym must be 1..63 characters of [A-Za-z0-9_.-]"))
		}
		if err := f.Unknown(s.Name, "port", "rx_streams_max", "tx_streams_max", "ring_size", "pool", "apps", "hold_rx",
			"addrs", "representor", "representor_name", "representor_addrs"); err != nil {
			return wrap(err)
		}
		v := Vdev{Devsym: devsym, Port: f.String(s.Name, "port", "")}
		if v.Port == "" {
			return wrap(f.InvalidSection(s.Name, "needs port=NAME (a [port:NAME] section)"))
		}
		pi := c.PortIndex(v.Port)
		if pi < 0 {
			return wrap(f.Invalid(s.Name, "port", "no such [port:"+v.Port+"]"))
		}
		if prev, dup := usedPort[v.Port]; dup {
			return wrap(f.Invalid(s.Name, "port", "port already used by [vdev:"+prev+"]"))
		}
		usedPort[v.Port] = devsym
		for _, k := range []struct {
			key string
			p   *uint32
			def uint64
		}{{"rx_streams_max", &v.RxStreamsMax, 8}, {"tx_streams_max", &v.TxStreamsMax, 8}} {
			n, err := f.Uint(s.Name, k.key, k.def, 1, MaxStreams)
			if err != nil {
				return wrap(err)
			}
			*k.p = uint32(n)
		}
		n, err := f.Uint(s.Name, "ring_size", DefaultRingSize, 32, 1<<16)
		if err != nil {
			return wrap(err)
		}
		if n&(n-1) != 0 {
			return wrap(f.Invalid(s.Name, "ring_size", "must be a power of two"))
		}
		v.RingSize = uint32(n)
		v.Pool = f.String(s.Name, "pool", c.Ports[pi].Pool)
		if c.PoolIndex(v.Pool) < 0 {
			return wrap(f.Invalid(s.Name, "pool", "no such [pool:"+v.Pool+"]"))
		}
		if v.HoldRx, err = f.Bool(s.Name, "hold_rx", false); err != nil {
			return wrap(err)
		}
		v.Apps = f.List(s.Name, "apps", []string{"*"})
		if len(v.Apps) == 0 {
			return wrap(f.Invalid(s.Name, "apps", "must list appsyms or be *"))
		}
		for _, a := range v.Apps {
			if a != "*" && !validSymbol(a) {
				return wrap(f.Invalid(s.Name, "apps", "appsym "+strconv.Quote(a)+" is not 1..63 characters of [A-Za-z0-9_.-]"))
			}
		}
		if err := parseVdevLibrary(f, s.Name, &v); err != nil {
			return err
		}
		c.Vdevs = append(c.Vdevs, v)
	}
	return nil
}

// parseVdevLibrary reads the keys of [vdev:] that the application library
// uses: addrs and the representor.
func parseVdevLibrary(f *profile.File, sec string, v *Vdev) error {
	var err error
	if v.Addrs, err = parsePrefixes(f, sec, "addrs", nil); err != nil {
		return err
	}
	if v.RepresentorAddrs, err = parsePrefixes(f, sec, "representor_addrs", v.Addrs); err != nil {
		return err
	}
	if v.Representor, err = f.Bool(sec, "representor", false); err != nil {
		return wrap(err)
	}
	v.RepresentorName = f.String(sec, "representor_name", "")
	if n := v.RepresentorName; n != "" && (len(n) > 15 || !ifNameRE.MatchString(n)) {
		return wrap(f.Invalid(sec, "representor_name", "must be 1..15 characters of [A-Za-z0-9_.-] (a Linux interface name)"))
	}
	return nil
}

var ifNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// parsePrefixes reads a comma-separated list of address/prefix-length
// pairs (10.0.0.1/24, fd00::1/64); a bare address is a host prefix.
func parsePrefixes(f *profile.File, sec, key string, def []netip.Prefix) ([]netip.Prefix, error) {
	if _, ok := f.Get(sec, key); !ok {
		return def, nil
	}
	var out []netip.Prefix
	for _, w := range f.List(sec, key, nil) {
		p, err := netip.ParsePrefix(w)
		if err != nil {
			a, aerr := netip.ParseAddr(w)
			if aerr != nil {
				return nil, wrap(f.Invalid(sec, key, strconv.Quote(w)+" is not an address/prefix like 10.0.0.1/24 or fd00::1/64"))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		a := p.Addr()
		if a.Zone() != "" || strings.Contains(w, "%") || a.Is4In6() || !a.IsGlobalUnicast() && !a.IsLinkLocalUnicast() {
			return nil, wrap(f.Invalid(sec, key, strconv.Quote(w)+" is not a unicast address without zone"))
		}
		for _, q := range out {
			if q.Addr() == a {
				return nil, wrap(f.Invalid(sec, key, strconv.Quote(w)+" listed twice"))
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// ApplyEnv applies the environment overrides MRZCPD_FILE_PREFIX and
// MRZCPD_HUGE_DIR to e.
func (e *EAL) ApplyEnv() {
	if v := os.Getenv(EnvFilePrefix); v != "" {
		e.FilePrefix = v
	}
	if v := os.Getenv(EnvHugeDir); v != "" {
		e.HugeDir = v
	}
}
