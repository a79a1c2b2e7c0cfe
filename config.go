package marsio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomarsio/marsio/ctrlproto/profile"
	"github.com/gomarsio/marsio/fastpath/flowhash"
)

// ServiceConfig is the [service] and [eal] settings the library uses, with
// the seed's defaults. Init reads them from the daemon's global config file
// (the seed reads [service] there) and lets the application's own file
// mrapp.<appsym>.conf beside it override any key.
type ServiceConfig struct {
	PollWaitEnable           bool   // poll_wait_enable (1)
	UsleepThreshold          uint32 // poll_wait_throttle_usleep_threshold (32)
	UsleepPeriod             uint32 // poll_wait_throttle_usleep_period, µs (5)
	NotifyThreshold          uint32 // poll_wait_throttle_notify_threshold (256)
	VdevBufferSize           uint32 // vdev_buffer_size (512)
	MempoolCacheSize         uint32 // mp_cache_size (256)
	DistMode                 flowhash.DistMode
	HashMode                 flowhash.HashMode
	EALVirtAddr              string // [eal] virtaddr
	EALNoHuge                bool   // [eal] nohuge
	EALLogLevel              uint32 // [eal] loglevel (1..8, default 7)
	EALFilePrefix            string // [eal] file_prefix
	GlobalFile, AppFile      string // the files read (AppFile may not exist)
	appFileFound             bool
	distModeSet, hashModeSet bool
}

// Seed defaults (marsio.c).
const (
	defUsleepThreshold  = 32
	defUsleepPeriod     = 5
	defNotifyThreshold  = 256
	defVdevBufferSize   = 512
	defMempoolCacheSize = 256
	maxMempoolCacheSize = 512 // RTE_MEMPOOL_CACHE_MAX_SIZE
	defLogLevel         = 7   // LOG_DEBUG + 1 in DPDK's numbering, as the seed computes
)

// daemonStatus is what Init needs from mrmonit.daemon.
type daemonStatus struct {
	CfgFile string
	PID     int
}

// readDaemonStatus reads the daemon's status file and returns the global
// config path it names (general.g_cfgfile).
func readDaemonStatus(path string) (daemonStatus, error) {
	const op = "init"
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return daemonStatus{}, wrapf(op, ErrNoDaemon, "is mrzcpd running? start it, or point "+EnvStatusDir+"/"+EnvDaemonStatus+" at its status directory", err,
			"daemon status file %s", path)
	}
	if err != nil {
		return daemonStatus{}, wrapf(op, ErrNoDaemon, "is mrzcpd running, and can this user read its status file?", err, "read daemon status file %s", path)
	}
	var doc struct {
		General map[string]any `json:"general"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return daemonStatus{}, wrapf(op, ErrConfig, "a stale or truncated file: restart mrzcpd", err, "daemon status file %s is not JSON", path)
	}
	if doc.General == nil {
		return daemonStatus{}, errorf(op, ErrConfig, "restart mrzcpd; is it the gomarsio daemon?", "daemon status file %s has no \"general\" object", path)
	}
	cfg, _ := doc.General["g_cfgfile"].(string)
	if cfg == "" {
		return daemonStatus{}, errorf(op, ErrConfig, "restart mrzcpd; is it the gomarsio daemon?", "daemon status file %s: general.g_cfgfile missing or empty", path)
	}
	st := daemonStatus{CfgFile: cfg}
	for _, k := range []string{"pid", "daemon_pid"} {
		if v, ok := doc.General[k].(float64); ok {
			st.PID = int(v)
		}
	}
	return st, nil
}

// loadProfile loads an INI file; a missing file gives an empty one (the seed's
// MESA_load_profile_*_def fall back to defaults).
func loadProfile(path string) (*profile.File, bool, error) {
	f, err := profile.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return profile.New(path), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return f, true, nil
}

// appConfigPath is mrapp.<appsym>.conf beside the global config.
func appConfigPath(globalCfg, appsym string) string {
	return filepath.Join(filepath.Dir(globalCfg), "mrapp."+appsym+".conf")
}

// loadServiceConfig reads [service] and [eal] from the global config file and
// then from the app's file, which overrides key by key.
func loadServiceConfig(globalPath, appsym string) (ServiceConfig, error) {
	c := ServiceConfig{
		PollWaitEnable:   true,
		UsleepThreshold:  defUsleepThreshold,
		UsleepPeriod:     defUsleepPeriod,
		NotifyThreshold:  defNotifyThreshold,
		VdevBufferSize:   defVdevBufferSize,
		MempoolCacheSize: defMempoolCacheSize,
		EALLogLevel:      defLogLevel,
		GlobalFile:       globalPath,
		AppFile:          appConfigPath(globalPath, appsym),
	}
	g, _, err := loadProfile(globalPath)
	if err != nil {
		return c, wrapf("init", ErrConfig, "fix the daemon's global config", err, "global config")
	}
	a, found, err := loadProfile(c.AppFile)
	if err != nil {
		return c, wrapf("init", ErrConfig, "fix the application's config", err, "application config")
	}
	c.appFileFound = found
	for _, f := range []*profile.File{g, a} {
		if err := c.apply(f); err != nil {
			return c, wrapf("init", ErrConfig, "", err, "load [service]/[eal]")
		}
	}
	return c, nil
}

// apply overrides c with the keys present in f, checking ranges.
func (c *ServiceConfig) apply(f *profile.File) error {
	u32 := func(key string, dst *uint32, min, max uint64) error {
		v, err := f.Uint("service", key, uint64(*dst), min, max)
		if err != nil {
			return err
		}
		*dst = uint32(v)
		return nil
	}
	en, err := f.Bool("service", "poll_wait_enable", c.PollWaitEnable)
	if err != nil {
		return err
	}
	c.PollWaitEnable = en
	for _, k := range []struct {
		key      string
		dst      *uint32
		min, max uint64
	}{
		{"poll_wait_throttle_usleep_threshold", &c.UsleepThreshold, 0, 1 << 31},
		{"poll_wait_throttle_usleep_period", &c.UsleepPeriod, 0, 1_000_000},
		{"poll_wait_throttle_notify_threshold", &c.NotifyThreshold, 0, 1 << 31},
		{"vdev_buffer_size", &c.VdevBufferSize, 1, 1 << 16},
		{"mp_cache_size", &c.MempoolCacheSize, 0, maxMempoolCacheSize},
		{"loglevel", &c.EALLogLevel, 1, 8},
	} {
		if k.key == "loglevel" {
			v, err := f.Uint("eal", k.key, uint64(*k.dst), k.min, k.max)
			if err != nil {
				return err
			}
			*k.dst = uint32(v)
			continue
		}
		if err := u32(k.key, k.dst, k.min, k.max); err != nil {
			return err
		}
	}
	if v, ok := f.Get("service", "distmode"); ok {
		m, err := flowhash.ParseDistMode(v)
		if err != nil {
			return f.Invalid("service", "distmode", err.Error())
		}
		c.DistMode, c.distModeSet = m, true
	}
	if v, ok := f.Get("service", "hashmode"); ok {
		m, err := flowhash.ParseHashMode(v)
		if err != nil {
			return f.Invalid("service", "hashmode", err.Error())
		}
		c.HashMode, c.hashModeSet = m, true
	}
	c.EALVirtAddr = f.String("eal", "virtaddr", c.EALVirtAddr)
	nohuge, err := f.Bool("eal", "nohuge", c.EALNoHuge)
	if err != nil {
		return err
	}
	c.EALNoHuge = nohuge
	c.EALFilePrefix = f.String("eal", "file_prefix", c.EALFilePrefix)
	return nil
}

// String renders the configuration for logs.
func (c ServiceConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "poll_wait_enable=%t usleep_threshold=%d usleep_period=%dus notify_threshold=%d vdev_buffer_size=%d mp_cache_size=%d distmode=%v hashmode=%v",
		c.PollWaitEnable, c.UsleepThreshold, c.UsleepPeriod, c.NotifyThreshold, c.VdevBufferSize, c.MempoolCacheSize, c.DistMode, c.HashMode)
	return b.String()
}
