package relay

import (
	"testing"

	"github.com/portlab/portlab/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
