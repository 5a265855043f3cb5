// Package secret makes the unguessable strings portlab hands out (a lab's
// key, a student's token, a teacher's session) and the hash it keeps of
// them in place of the secret itself.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// New returns n random bytes as lower-case base32: 16 bytes or more is
// beyond guessing.
func New(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Hash is what a store keeps of a secret: its hex SHA-256, which lets a
// request's secret be checked and does not let the store act with it.
func Hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
