package marsio

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/ctrlproto/mrconf"
	"github.com/gomarsio/marsio/fastpath/flowhash"
)

// ServiceConfig is the [service] and [eal] settings the library uses, with
// the seed's defaults. Init reads [eal] and [service] from the daemon's
// global config file (the seed reads [service] there) and lets the
// application's own file mrapp.<appsym>.conf beside it override any key.
type ServiceConfig struct {
	PollWaitEnable   bool   // poll_wait_enable (1)
	UsleepThreshold  uint32 // poll_wait_throttle_usleep_threshold (32)
	UsleepPeriod     uint32 // poll_wait_throttle_usleep_period, µs (5)
	NotifyThreshold  uint32 // poll_wait_throttle_notify_threshold (256)
	VdevBufferSize   uint32 // vdev_buffer_size (512)
	MempoolCacheSize uint32 // mp_cache_size (256)
	DistMode         flowhash.DistMode
	HashMode         flowhash.HashMode
	// Neighbour tables ([service] neigh_*; the seed's defaults 4096, 0 =
	// never, 1 s, 3).
	NeighMaxEntries     int
	NeighTimeout        time.Duration
	NeighARPInterval    time.Duration
	NeighGratuitousARPs int
	EAL                 mrconf.EAL // [eal]: virtaddr, nohuge, loglevel, file_prefix, …
	GlobalFile          string     // the daemon's global config
	AppFile             string     // mrapp.<appsym>.conf beside it (may not exist)
}

// daemonInfo is what Init takes from mrmonit.daemon.
type daemonInfo struct {
	CfgFile    string
	RunDir     string
	PID        int
	FilePrefix string
	RuntimeDir string
	HugeDir    string
}

// readDaemonStatus reads the daemon's status file: the global config path
// (general.g_cfgfile, as the seed reads it) and where its memory is.
func readDaemonStatus(path string) (daemonInfo, error) {
	const op = "init"
	d, err := monit.ReadDaemon(path)
	switch {
	case errors.Is(err, monit.ErrNotExist):
		return daemonInfo{}, wrapf(op, ErrNoDaemon, "or set "+EnvStatusDir+" / "+EnvDaemonStatus, err, "daemon status")
	case errors.Is(err, monit.ErrFormat):
		return daemonInfo{}, wrapf(op, ErrConfig, "a truncated or foreign file: restart mrzcpd", err, "daemon status")
	case err != nil:
		return daemonInfo{}, wrapf(op, ErrNoDaemon, "can this user read the daemon's status file?", err, "daemon status")
	}
	if err := d.CheckAlive(path, 0); err != nil {
		return daemonInfo{}, wrapf(op, ErrNoDaemon, "is mrzcpd running? the status file is stale", err, "daemon status")
	}
	g := d.General
	return daemonInfo{CfgFile: g.GCfgfile, RunDir: g.RunDir, PID: g.Pid, FilePrefix: g.FilePrefix, RuntimeDir: g.RuntimeDir, HugeDir: g.HugeDir}, nil
}

// loadServiceConfig reads [eal]/[service] of the global config and the app's
// file on top (mrconf.LoadApp), with the seed's defaults. A global config
// that is not a file (the daemon runs on its embedded config, g_cfgfile
// "<embedded>") gives the defaults, as the seed's MESA_load_profile_*_def do
// for a missing file; the app's file is then looked up in altDir (the
// daemon's run dir).
func loadServiceConfig(globalPath, appsym, altDir string) (ServiceConfig, error) {
	appPath := mrconf.AppConfigPath(globalPath, appsym)
	var a *mrconf.App
	var err error
	if st, serr := os.Stat(globalPath); serr == nil && st.Mode().IsRegular() {
		a, err = mrconf.LoadApp(globalPath, appPath)
	} else {
		if altDir != "" {
			appPath = filepath.Join(altDir, filepath.Base(appPath))
		}
		if _, serr := os.Stat(appPath); serr == nil {
			a, err = mrconf.LoadApp(appPath, "")
		} else {
			a = &mrconf.App{EAL: mrconf.DefaultEAL(), Service: mrconf.DefaultService()}
		}
	}
	if err != nil {
		return ServiceConfig{}, wrapf("init", ErrConfig, "fix the file named above", err, "load configuration")
	}
	s := a.Service
	c := ServiceConfig{
		PollWaitEnable:      s.PollWaitEnable,
		UsleepThreshold:     s.PollWaitThrottleUsleepThreshold,
		UsleepPeriod:        s.PollWaitThrottleUsleepPeriod,
		NotifyThreshold:     s.PollWaitThrottleNotifyThreshold,
		VdevBufferSize:      s.VdevBufferSize,
		MempoolCacheSize:    s.MpCacheSize,
		DistMode:            flowhash.DistMode(s.DistMode),
		HashMode:            flowhash.HashMode(s.HashMode),
		NeighMaxEntries:     int(s.NeighMaxEntries),
		NeighTimeout:        time.Duration(s.NeighTimeout) * time.Second,
		NeighARPInterval:    time.Duration(s.NeighARPInterval) * time.Millisecond,
		NeighGratuitousARPs: int(s.NeighGratuitousARPs),
		EAL:                 a.EAL,
		GlobalFile:          globalPath,
		AppFile:             appPath,
	}
	return c, nil
}
