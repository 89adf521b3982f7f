package chatkit

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMissingID_TakesTheShapeOfTheServersIDs(t *testing.T) {
	for like, shape := range map[string]string{
		"thr_1a2b3c4d":         `^thr_[0-9a-f]{8}$`,      // the SDK
		"thr_0123456789abcdef": `^thr_[0-9a-f]{16}$`,     // the reference app
		"cthr_AbC123xyz":       `^cthr_[0-9A-Za-z]{9}$`,  // the hosted backend
		"msg_68f0_abc":         `^msg_68f0_[0-9a-f]{3}$`, // prefix up to the last _
		"12345":                `^[0-9]{5}$`,             // no prefix
		"t_ab-C":               `^t_[0-9A-Za-z-]{4}$`,    // anything else: URL-safe
		"thr_":                 `^thr_[0-9]{16}$`,        // no tail: 16 characters
	} {
		for range 20 {
			got := MissingID(like)
			assert.Regexp(t, regexp.MustCompile(shape), got, "like %s", like)
			assert.NotEqual(t, like, got)
		}
	}
}
