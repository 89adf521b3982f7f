package shard

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{in: "1/1", want: Shard{1, 1}},
		{in: "2/3", want: Shard{2, 3}},
		{in: " 3 / 3 ", want: Shard{3, 3}},
		{in: "", wantErr: "empty"},
		{in: "2", wantErr: `no "/"`},
		{in: "a/3", wantErr: `index "a" is not a whole number`},
		{in: "1/x", wantErr: `count "x" is not a whole number`},
		{in: "1/0", wantErr: "count must be at least 1"},
		{in: "0/3", wantErr: "index must be between 1 and 3"},
		{in: "4/3", wantErr: "index must be between 1 and 3"},
		{in: "-1/3", wantErr: "index must be between 1 and 3"},
		{in: "1/2/3", wantErr: `count "2/3" is not a whole number`},
	} {
		t.Run("in="+tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), `e.g. "2/3"`) {
					t.Errorf("error %q does not show the allowed form", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if got.String() != strings.ReplaceAll(tc.in, " ", "") {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

// names is a synthetic suite; the partition over the real e2e list is proven in e2e/killmatrix.
func names(k int) []string {
	var out []string
	for i := 0; i < k; i++ {
		out = append(out, fmt.Sprintf("TestArea%d_Behaviour%d", i%7, i))
	}
	return out
}

func TestSelectPartitionsTheSuite(t *testing.T) {
	all := names(200)
	for n := 1; n <= 6; n++ {
		seen := map[string]int{}
		for i := 1; i <= n; i++ {
			for _, name := range (Shard{i, n}).Select(all) {
				seen[name]++
			}
		}
		for _, name := range all {
			if seen[name] != 1 {
				t.Errorf("n=%d: %s is in %d shards, want exactly 1", n, name, seen[name])
			}
		}
	}
}

func TestShardDependsOnlyOnTheName(t *testing.T) {
	all := names(50)
	s := Shard{2, 3}
	want := s.Select(all)
	// Reversed order and an added test do not move any other test.
	rev := make([]string, 0, len(all)+1)
	for i := len(all) - 1; i >= 0; i-- {
		rev = append(rev, all[i])
	}
	rev = append(rev, "TestNew_Added")
	got := map[string]bool{}
	for _, n := range s.Select(rev) {
		got[n] = true
	}
	for _, n := range want {
		if !got[n] {
			t.Errorf("%s left shard %s when the order changed", n, s)
		}
	}
	if Of("TestX_Y/case=a", 3) != Of("TestX_Y", 3) {
		t.Error("a subtest must be in its parent's shard")
	}
}

func TestRunPatternMatchesExactlyTheNames(t *testing.T) {
	re := regexp.MustCompile(RunPattern([]string{"TestA_B", "TestA_B2"}))
	for name, want := range map[string]bool{"TestA_B": true, "TestA_B2": true, "TestA_B3": false, "XTestA_B": false, "TestA": false} {
		if re.MatchString(name) != want {
			t.Errorf("%s: match = %v, want %v", name, !want, want)
		}
	}
	empty := regexp.MustCompile(RunPattern(nil))
	if empty.MatchString("TestA_B") {
		t.Error("the empty pattern matches a test")
	}
}

func TestShardsAreRoughlyBalanced(t *testing.T) {
	all := names(300)
	for n := 2; n <= 4; n++ {
		for i := 1; i <= n; i++ {
			got := len((Shard{i, n}).Select(all))
			if want := len(all) / n; got < want*2/3 || got > want*4/3 {
				t.Errorf("shard %d/%d holds %d of %d tests, want about %d", i, n, got, len(all), want)
			}
		}
	}
}

func TestListed_KeepsTestNamesOnly(t *testing.T) {
	got := Listed([]byte("TestA\nExampleB\nauthflow: shard 1/2 runs 1 of 2 tests\nok  \tpkg\t0.1s\n  TestC  \n"))
	if want := []string{"TestA", "ExampleB", "TestC"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Listed = %v, want %v", got, want)
	}
}
