package neigh

import (
	"testing"

	"github.com/gomarsio/marsio/internal/testenv"
)

// Test environment helpers: thin names over internal/testenv's namespace
// helpers, used throughout this package's tests.

func newNetns(t testing.TB) string { t.Helper(); return testenv.NewNetns(t, "neigh") }

func mustIP(t testing.TB, ns string, args ...string) string {
	t.Helper()
	return testenv.IP(t, ns, args...)
}

func inNetns(ns string, fn func() error) error { return testenv.InNetns(ns, fn) }
