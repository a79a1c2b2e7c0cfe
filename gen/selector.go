package main

// selectorCommon returns the version-independent files of zz_generated/dpdk
// (CMD is replaced by the generating command).
func selectorCommon() map[string]string {
	return map[string]string{
		"zdoc.go": `// CMD
// ` + generatedLine + `

// Package dpdk selects, at build time, the DPDK release whose C layouts
// gomarsio uses, and re-exports that release's generated package: every
// type (as an alias), every Offsetof/Sizeof constant, every C constant, the
// Types and Fields tables, and Version, VersionMajor and VersionMinor.
//
// One build serves one DPDK release:
//
//	go build ./...                  // DPDK 22.11 (the default, Debian 12)
//	go build -tags dpdk2011 ./...   // DPDK 20.11 (Debian 11)
//	go build -tags dpdk2411 ./...   // DPDK 24.11 (Debian 13)
//
// The tags are exclusive. Packages above zz_generated import only this
// package, never a numbered one. At attach time compare the primary's
// rte_mem_config.version with CheckVersion: a primary of another release
// is refused with an error naming both.
package dpdk
`,
		"zconflict.go": `// CMD
// ` + generatedLine + `
//go:build dpdk2011 && dpdk2411

package dpdk

// The build tags dpdk2011 and dpdk2411 select different DPDK releases: use one.
const _ = build_tags_dpdk2011_and_dpdk2411_are_exclusive
`,
		"zversion_test.go": `// CMD
// ` + generatedLine + `

package dpdk

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeVersion(t *testing.T) {
	for _, c := range []struct {
		v    uint32
		want string
	}{
		{0x160b0b63, "22.11.11"},
		{0x140b0a63, "20.11.10"},
		{0x180b0863, "24.11.8"},
		{0x180b0002, "24.11.0-rc2"},
	} {
		if got := DecodeVersion(c.v).String(); got != c.want {
			t.Errorf("DecodeVersion(%#x) = %q, want %q", c.v, got, c.want)
		}
	}
	if !DecodeVersion(0x160b0b63).SameMajorMinor(22, 11) || DecodeVersion(0x160b0b63).SameMajorMinor(24, 11) {
		t.Error("SameMajorMinor")
	}
}

func TestCheckVersion(t *testing.T) {
	if err := CheckVersion(RTE_VERSION); err != nil {
		t.Fatalf("CheckVersion(RTE_VERSION) = %v", err)
	}
	other := uint32(0x140b0a63) // 20.11.10
	if VersionMajor == 20 {
		other = 0x160b0b63 // 22.11.11
	}
	err := CheckVersion(other)
	if !errors.Is(err, ErrVersion) {
		t.Fatalf("CheckVersion(%#x) = %v, want ErrVersion", other, err)
	}
	if !strings.Contains(err.Error(), DecodeVersion(other).String()) || !strings.Contains(err.Error(), Version) {
		t.Errorf("error %q does not name both versions", err)
	}
	if Version != strings.TrimSuffix(DecodeVersion(RTE_VERSION).String()[:5], ".") {
		t.Errorf("Version %q disagrees with RTE_VERSION %#x", Version, RTE_VERSION)
	}
}
`,
		"zversion.go": `// CMD
// ` + generatedLine + `

package dpdk

import (
	"errors"
	"fmt"
)

// ErrVersion reports a DPDK release other than the one this build mirrors.
var ErrVersion = errors.New("DPDK version mismatch")

// Release is a decoded RTE_VERSION (rte_mem_config.version):
// year<<24 | month<<16 | minor<<8 | release, as RTE_VERSION_NUM builds it.
type Release struct {
	Year, Month, Minor, Release uint8
}

// DecodeVersion splits an RTE_VERSION_NUM-encoded word.
func DecodeVersion(v uint32) Release {
	return Release{Year: uint8(v >> 24), Month: uint8(v >> 16), Minor: uint8(v >> 8), Release: uint8(v)}
}

// String formats r like rte_version(): "22.11.11", or "24.11.0-rc2" for a
// release candidate (release numbers below 16).
func (r Release) String() string {
	if r.Release < 16 {
		return fmt.Sprintf("%d.%02d.%d-rc%d", r.Year, r.Month, r.Minor, r.Release)
	}
	return fmt.Sprintf("%d.%02d.%d", r.Year, r.Month, r.Minor)
}

// SameMajorMinor reports whether r is the major.minor release given (22, 11).
func (r Release) SameMajorMinor(major, minor int) bool {
	return int(r.Year) == major && int(r.Month) == minor
}

// CheckVersion returns nil when v (a primary's rte_mem_config.version) is
// the release this build mirrors, else an error wrapping ErrVersion that
// names both.
func CheckVersion(v uint32) error {
	r := DecodeVersion(v)
	if r.SameMajorMinor(VersionMajor, VersionMinor) {
		return nil
	}
	return fmt.Errorf("%w: the primary runs DPDK %s, this program is built for DPDK %s (build tag dpdk%02d%02d)", ErrVersion, r, Version, r.Year, r.Month)
}
`,
	}
}
