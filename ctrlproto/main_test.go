package ctrlproto

import (
	"testing"

	"github.com/gomarsio/marsio/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
