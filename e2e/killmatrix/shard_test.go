package killmatrix

import (
	"slices"
	"testing"

	"github.com/authflow-e2e/authflow/internal/shard"
)

// TestShard_PartitionsTheE2ESuite proves on the real e2e test list that the shards of n = 1..4 hold
// every test exactly once, and that the e2e binary itself (fixtures.Main applies AUTHFLOW_SHARD)
// selects exactly its shard (in list mode, which needs no stack).
func TestShard_PartitionsTheE2ESuite(t *testing.T) {
	all := listE2E(t, ".")
	if len(all) < 4 {
		t.Fatalf("the e2e suite lists %d tests: %v", len(all), all)
	}
	for n := 1; n <= 4; n++ {
		seen := map[string]int{}
		for i := 1; i <= n; i++ {
			s := shard.Shard{Index: i, Count: n}
			sel := s.Select(all)
			if len(sel) == 0 {
				t.Errorf("shard %s of %d tests is empty", s, len(all))
			}
			for _, name := range sel {
				seen[name]++
			}
			got := listE2E(t, ".", shard.Env+"="+s.String())
			if !slices.Equal(got, sel) {
				t.Errorf("AUTHFLOW_SHARD=%s: the e2e binary selects %v, want %v", s, got, sel)
			}
		}
		for _, name := range all {
			if seen[name] != 1 {
				t.Errorf("n=%d: %s is in %d shards, want exactly 1", n, name, seen[name])
			}
		}
		if len(seen) != len(all) {
			t.Errorf("n=%d: the shards hold %d tests, the suite %d", n, len(seen), len(all))
		}
	}
}
