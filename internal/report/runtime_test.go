package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRunTimes_WaitsForAParallelSlotAreNotRunTime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var r RunTimes
	// The guard test: its body only starts two parallel subtests, which wait ~10 s for slots.
	r.Start("TestGuard", at(0))
	r.BodyDone("TestGuard", at(0.01))
	r.Start("TestGuard/case=a", at(10))
	r.Start("TestGuard/case=b", at(11.1))
	assert.InDelta(t, 1.5, r.Done("TestGuard/case=a", at(11.5)).Seconds(), 1e-9)
	assert.InDelta(t, 0.4, r.Done("TestGuard/case=b", at(11.5)).Seconds(), 1e-9)
	assert.InDelta(t, 1.91, r.Done("TestGuard", at(11.9)).Seconds(), 1e-9, "body + subtests' run times, not the 11.9 s it existed")

	// Sequential subtests run inside the body: counted once.
	r.Start("TestSeq", at(0))
	r.Start("TestSeq/one", at(0.1))
	r.Done("TestSeq/one", at(0.6))
	r.BodyDone("TestSeq", at(0.7))
	assert.InDelta(t, 0.7, r.Done("TestSeq", at(0.7)).Seconds(), 1e-9)

	// Without BodyDone (a test that did not defer it), the cleanup's moment ends it.
	r.Start("TestPlain", at(0))
	assert.InDelta(t, 2.0, r.Done("TestPlain", at(2)).Seconds(), 1e-9)
	assert.Zero(t, r.Done("TestUnknown", at(2)))
}
