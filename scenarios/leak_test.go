package scenarios

import (
	"testing"

	"github.com/portlab/portlab/scenarios/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
