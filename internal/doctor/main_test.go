package doctor

import (
	"testing"

	"github.com/gomarsio/marsio/internal/testenv"
)

func TestMain(m *testing.M) {
	ProbeMain() // the address-range probe re-executes this test binary
	testenv.Main(m)
}
