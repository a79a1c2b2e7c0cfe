package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// dpdkVersion is one DPDK release the generator knows how to obtain.
type dpdkVersion struct {
	Name  string // "22.11"
	Pkg   string // Go package: "dpdk2211"
	Tag   string // build tag of the selector: "dpdk2211"
	Suite string // the Debian suite that ships it
}

var knownVersions = []dpdkVersion{
	{Name: "20.11", Pkg: "dpdk2011", Tag: "dpdk2011", Suite: "bullseye"},
	{Name: "22.11", Pkg: "dpdk2211", Tag: "dpdk2211", Suite: "bookworm"},
	{Name: "24.11", Pkg: "dpdk2411", Tag: "dpdk2411", Suite: "trixie"},
}

// defaultVersion is what zz_generated/dpdk selects without a build tag.
const defaultVersion = "22.11"

// errUnknownVersion is returned for a -dpdk value not in knownVersions.
var errUnknownVersion = errors.New("unknown DPDK version")

func lookupVersion(name string) (dpdkVersion, error) {
	for _, v := range knownVersions {
		if v.Name == name {
			return v, nil
		}
	}
	var names []string
	for _, v := range knownVersions {
		names = append(names, v.Name)
	}
	return dpdkVersion{}, fmt.Errorf("%w %q (known: %s)", errUnknownVersion, name, strings.Join(names, ", "))
}

// headers is one version's public headers, ready for gcc.
type headers struct {
	Version   dpdkVersion
	Full      string   // full package version, e.g. "22.11.11"
	CFlags    []string // include paths and -include rte_config.h
	Installed bool     // the machine's own DPDK (pkg-config libdpdk)
	Origin    string   // where the headers came from, for messages
	// EALSrc is the directory holding the real internal EAL headers
	// (eal_memcfg.h, malloc_heap.h, malloc_elem.h, eal_common_proc.c) from
	// the version's source package, or "" when unreachable (SrcErr says why).
	EALSrc string
	SrcErr error
}

// getHeaders returns the headers of v: the installed DPDK when pkg-config
// reports that version, otherwise Debian's libdpdk-dev of v.Suite fetched
// into cache. The internal headers come from the suite's source package.
func getHeaders(v dpdkVersion, cache string, logf func(string, ...any)) (*headers, error) {
	h := &headers{Version: v}
	if mv, err := exec.Command("pkg-config", "--modversion", "libdpdk").Output(); err == nil && strings.HasPrefix(strings.TrimSpace(string(mv)), v.Name+".") {
		cf, err := exec.Command("pkg-config", "--cflags", "libdpdk").Output()
		if err != nil {
			return nil, fmt.Errorf("pkg-config --cflags libdpdk: %w", err)
		}
		for _, f := range strings.Fields(string(cf)) {
			// Only what affects layouts: include paths, the forced include and defines.
			if strings.HasPrefix(f, "-I") || strings.HasPrefix(f, "-D") || f == "-include" || strings.HasSuffix(f, ".h") {
				h.CFlags = append(h.CFlags, f)
			}
		}
		h.Full = strings.TrimSpace(string(mv))
		h.Installed = true
		h.Origin = "installed DPDK " + h.Full + " (pkg-config libdpdk)"
	} else {
		a, err := newAptDir(v, cache)
		if err != nil {
			return nil, err
		}
		root, full, err := a.devHeaders(logf)
		if err != nil {
			return nil, fmt.Errorf("DPDK %s headers: %w", v.Name, err)
		}
		h.Full = full
		h.CFlags = []string{
			"-I" + filepath.Join(root, "usr/include/dpdk"),
			"-I" + filepath.Join(root, "usr/include/x86_64-linux-gnu/dpdk"),
			"-include", "rte_config.h",
		}
		h.Origin = fmt.Sprintf("libdpdk-dev %s from Debian %s (%s)", full, v.Suite, root)
	}
	a, err := newAptDir(v, cache)
	if err != nil {
		h.SrcErr = err
		return h, nil
	}
	h.EALSrc, h.SrcErr = a.ealSource(logf)
	return h, nil
}

// aptDir is a private apt configuration and state for one Debian suite.
type aptDir struct {
	v    dpdkVersion
	root string // <cache>/<suite>
}

func newAptDir(v dpdkVersion, cache string) (*aptDir, error) {
	abs, err := filepath.Abs(filepath.Join(cache, v.Suite))
	if err != nil {
		return nil, err
	}
	return &aptDir{v: v, root: abs}, nil
}

// mirror is one Debian archive taken from the machine's apt configuration.
type mirror struct {
	URI      string
	SignedBy string
}

// aptSources are the machine's apt configuration files (globs) the mirrors
// are taken from; tests point them elsewhere.
var aptSources = []string{"/etc/apt/sources.list.d/*.sources", "/etc/apt/sources.list"}

// machineMirrors reads the Debian main archive URIs from
// /etc/apt/sources.list.d/*.sources (deb822) and /etc/apt/sources.list,
// skipping security and update suites. No package host is hard-coded.
func machineMirrors() ([]mirror, error) {
	var out []mirror
	seen := map[string]bool{}
	add := func(uri, signed string, suites []string) {
		ok := false
		for _, s := range suites {
			if s != "" && !strings.Contains(s, "-") && !strings.Contains(s, "/") {
				ok = true
			}
		}
		uri = strings.TrimSuffix(uri, "/")
		if ok && uri != "" && !seen[uri] && !strings.Contains(uri, "security") {
			seen[uri] = true
			out = append(out, mirror{URI: uri, SignedBy: signed})
		}
	}
	var files, lists []string
	for _, g := range aptSources {
		m, _ := filepath.Glob(g)
		sort.Strings(m)
		for _, f := range m {
			if strings.HasSuffix(f, ".sources") {
				files = append(files, f)
			} else {
				lists = append(lists, f)
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, stanza := range strings.Split(string(b), "\n\n") {
			kv := map[string]string{}
			for _, line := range strings.Split(stanza, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "#") {
					continue
				}
				if k, val, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
					kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
				}
			}
			if !strings.Contains(" "+kv["types"]+" ", " deb ") || !strings.Contains(" "+kv["components"]+" ", " main ") {
				continue
			}
			for _, u := range strings.Fields(kv["uris"]) {
				add(u, kv["signed-by"], strings.Fields(kv["suites"]))
			}
		}
	}
	for _, lf := range lists {
		b, err := os.ReadFile(lf)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 4 || f[0] != "deb" {
				continue
			}
			signed := ""
			if strings.HasPrefix(f[1], "[") {
				opts := []string{}
				i := 1
				for ; i < len(f); i++ {
					opts = append(opts, strings.Trim(f[i], "[]"))
					if strings.HasSuffix(f[i], "]") {
						break
					}
				}
				for _, o := range opts {
					if k, val, ok := strings.Cut(o, "="); ok && k == "signed-by" {
						signed = val
					}
				}
				f = append([]string{f[0]}, f[i+1:]...)
			}
			if len(f) >= 4 {
				add(f[1], signed, []string{f[2]})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Debian archive (Types: deb, Components: main) found in %s", strings.Join(aptSources, " or "))
	}
	return out, nil
}

func (a *aptDir) opts() []string {
	return []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(a.root, "apt/sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(a.root, "apt/sources.list.d"),
		"-o", "Dir::Etc::Preferences=" + filepath.Join(a.root, "apt/preferences"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(a.root, "apt/preferences.d"),
		"-o", "Dir::State=" + filepath.Join(a.root, "apt/state"),
		"-o", "Dir::State::status=" + filepath.Join(a.root, "apt/status"),
		"-o", "Dir::Cache=" + filepath.Join(a.root, "apt/cache"),
		"-o", "APT::Sandbox::User=root",
		"-o", "Acquire::Retries=2",
		"-q",
	}
}

// update writes the private sources list (machine mirrors, suite swapped)
// and runs apt-get update once.
func (a *aptDir) update(logf func(string, ...any)) error {
	stamp := filepath.Join(a.root, "apt/.updated")
	if _, err := os.Stat(stamp); err == nil {
		return nil
	}
	ms, err := machineMirrors()
	if err != nil {
		return err
	}
	for _, d := range []string{"apt/sources.list.d", "apt/preferences.d", "apt/state/lists/partial", "apt/cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(a.root, d), 0o755); err != nil {
			return err
		}
	}
	var sl strings.Builder
	fmt.Fprintf(&sl, "# written by gomarsio's gen: the machine's Debian mirrors with the suite swapped to %s\n", a.v.Suite)
	for _, m := range ms {
		opt := ""
		if m.SignedBy != "" {
			opt = "[signed-by=" + m.SignedBy + "] "
		}
		fmt.Fprintf(&sl, "deb %s%s %s main\ndeb-src %s%s %s main\n", opt, m.URI, a.v.Suite, opt, m.URI, a.v.Suite)
	}
	if err := os.WriteFile(filepath.Join(a.root, "apt/sources.list"), []byte(sl.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(a.root, "apt/status"), nil, 0o644); err != nil {
		return err
	}
	logf("gen: apt-get update for Debian %s (DPDK %s)", a.v.Suite, a.v.Name)
	if err := a.run(a.root, "apt-get", append(a.opts(), "update")...); err != nil {
		return fmt.Errorf("apt-get update for Debian %s failed (is the Debian mirror reachable?): %w", a.v.Suite, err)
	}
	return os.WriteFile(stamp, nil, 0o644)
}

func (a *aptDir) run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := lastLines(stderr.String()+string(out), 3)
		return fmt.Errorf("%s %s: %w: %s", name, args[len(args)-1], err, msg)
	}
	// apt-get update exits 0 even when a source failed; treat E:/W: fetch failures as errors.
	for _, l := range strings.Split(stderr.String()+"\n"+string(out), "\n") {
		if strings.HasPrefix(l, "E:") || strings.HasPrefix(l, "W: Failed to fetch") || strings.HasPrefix(l, "Err:") {
			return fmt.Errorf("%s %s: %s", name, args[len(args)-1], strings.TrimSpace(l))
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// devHeaders downloads and extracts the suite's libdpdk-dev (which holds
// every public header, including the arch dir with rte_config.h) and
// returns the extraction root and the package version.
func (a *aptDir) devHeaders(logf func(string, ...any)) (root, full string, err error) {
	root = filepath.Join(a.root, "dev")
	stamp := filepath.Join(root, ".complete")
	if b, err := os.ReadFile(stamp); err == nil {
		return root, strings.TrimSpace(string(b)), nil
	}
	if err := a.update(logf); err != nil {
		return "", "", err
	}
	debs := filepath.Join(a.root, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", "", err
	}
	logf("gen: apt-get download libdpdk-dev (Debian %s)", a.v.Suite)
	if err := a.run(debs, "apt-get", append(a.opts(), "download", "libdpdk-dev")...); err != nil {
		return "", "", fmt.Errorf("download libdpdk-dev from Debian %s: %w", a.v.Suite, err)
	}
	files, _ := filepath.Glob(filepath.Join(debs, "libdpdk-dev_*.deb"))
	if len(files) == 0 {
		return "", "", fmt.Errorf("download libdpdk-dev from Debian %s: no .deb written", a.v.Suite)
	}
	sort.Strings(files)
	deb := files[len(files)-1]
	vb, err := exec.Command("dpkg-deb", "-f", deb, "Version").Output()
	if err != nil {
		return "", "", fmt.Errorf("dpkg-deb -f %s: %w", deb, err)
	}
	full = upstreamVersion(string(vb))
	if !strings.HasPrefix(full, a.v.Name+".") {
		return "", "", fmt.Errorf("libdpdk-dev of Debian %s is %s, not DPDK %s", a.v.Suite, full, a.v.Name)
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("dpkg-deb -x %s: %w: %s", deb, err, out)
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return "", "", err
	}
	return root, full, os.WriteFile(stamp, []byte(full+"\n"), 0o644)
}

// upstreamVersion turns a Debian version (22.11.11-0+deb12u1) into 22.11.11.
func upstreamVersion(deb string) string {
	v := strings.TrimSpace(deb)
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	return v
}

// internalFiles are the files of the source package the internal
// declarations are checked against.
var internalFiles = []string{"eal_memcfg.h", "malloc_heap.h", "malloc_elem.h", "eal_common_proc.c"}

// ealSource fetches the suite's dpdk source package (download only) and
// extracts the internal EAL files; it returns their directory.
func (a *aptDir) ealSource(logf func(string, ...any)) (string, error) {
	dir := filepath.Join(a.root, "src")
	stamp := filepath.Join(dir, ".complete")
	if b, err := os.ReadFile(stamp); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if err := a.update(logf); err != nil {
		return "", err
	}
	dl := filepath.Join(a.root, "srcdl")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return "", err
	}
	logf("gen: apt-get source --download-only dpdk (Debian %s)", a.v.Suite)
	if err := a.run(dl, "apt-get", append(a.opts(), "source", "--download-only", "dpdk")...); err != nil {
		return "", fmt.Errorf("source package dpdk of Debian %s not reachable: %w", a.v.Suite, err)
	}
	tars, _ := filepath.Glob(filepath.Join(dl, "dpdk_*.orig.tar.*"))
	if len(tars) == 0 {
		return "", fmt.Errorf("source package dpdk of Debian %s: no orig tarball downloaded", a.v.Suite)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	args := []string{"-xf", tars[0], "-C", tmp, "--wildcards"}
	for _, f := range internalFiles {
		args = append(args, "*/common/"+f)
	}
	if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("extract internal EAL headers from %s: %w: %s", tars[0], err, out)
	}
	found, _ := filepath.Glob(filepath.Join(tmp, "*", "lib", "*", "common", "eal_memcfg.h"))
	if len(found) == 0 {
		found, _ = filepath.Glob(filepath.Join(tmp, "*", "lib", "*", "*", "common", "eal_memcfg.h"))
	}
	if len(found) == 0 {
		return "", fmt.Errorf("%s has no lib/*/common/eal_memcfg.h", tars[0])
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	common := filepath.Join(dir, strings.TrimPrefix(filepath.Dir(found[0]), tmp))
	return common, os.WriteFile(stamp, []byte(common+"\n"), 0o644)
}
