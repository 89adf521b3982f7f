package chatkit

import (
	"crypto/rand"
	"math/big"
	"strings"
)

// Id alphabets, narrowest first.
const (
	digits    = "0123456789"
	lowerHex  = "0123456789abcdef"
	upperHex  = "0123456789ABCDEF"
	lowerAlnm = "0123456789abcdefghijklmnopqrstuvwxyz"
	anyAlnm   = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	urlSafe   = anyAlnm + "-"
)

// MissingID returns an id of the shape of like, an id the server issued, that names nothing: the same
// prefix (up to the last "_"), the same length and the narrowest alphabet that holds like's tail
// (digits, lower- or upper-case hex, lower-case or mixed alphanumerics). A server that checks the id
// shape before the lookup then answers it as it answers a missing id, not as a malformed one.
// (The SDK's ids are "thr_" + 8 hex characters; the reference app's 16.)
func MissingID(like string) string {
	prefix, tail := "", like
	if i := strings.LastIndex(like, "_"); i >= 0 {
		prefix, tail = like[:i+1], like[i+1:]
	}
	if tail == "" {
		tail = "0000000000000000"
	}
	alphabet := urlSafe
	for _, a := range []string{digits, lowerHex, upperHex, lowerAlnm, anyAlnm} {
		if strings.Trim(tail, a) == "" {
			alphabet = a
			break
		}
	}
	for {
		b := make([]byte, len(tail))
		for i := range b {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			if err != nil {
				panic(err) // crypto/rand does not fail on Linux
			}
			b[i] = alphabet[n.Int64()]
		}
		if string(b) != tail {
			return prefix + string(b)
		}
	}
}
