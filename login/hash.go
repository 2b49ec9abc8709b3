// Package login holds what every login of fenfu shares: secrets (a
// consumer's PIN, a staff member's or a merchant user's password) kept as
// argon2id hashes, TOTP second factors, and the count of wrong logins and
// of attempts in flight in the store (tables login_attempts and
// login_in_flight), so that a lockout holds across restarts and every
// node shares one count. A Door is the login of accounts with a password
// and a TOTP code — staff (package access), merchants' users (package
// merchantuser) — and their sessions, run on the tables of the package
// that owns them, with the statements it writes.
package login

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/fenfu/fenfu"
)

// Secrets are kept as argon2id hashes in the PHC string format,
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with the parameters in the string, so they can be raised later without
// losing the hashes made with the old ones. m=19 MiB, t=2, p=1 is OWASP's
// baseline for argon2id; on the reference machine (AMD EPYC, 2 cores)
// one hash takes about 24 ms (BenchmarkHash), against 4 ms for the
// PBKDF2-SHA256 at 20,000 rounds it replaces. A consumer logs in once per
// cashier session, not once per payment — a payment that carries a phone
// and PIN starts a session too — so the payment path does not pay for it,
// unless a client sends the PIN with every payment and drops the cookie.
const (
	hashMemory  = 19 * 1024 // KiB
	hashTime    = 2
	hashThreads = 1
	hashSaltLen = 16
	hashKeyLen  = 32
)

// Hash returns the argon2id hash of secret with a fresh random salt.
func Hash(secret string) string {
	salt := make([]byte, hashSaltLen)
	_, _ = rand.Read(salt)
	return encodeArgon2id(secret, salt, hashMemory, hashTime, hashThreads, hashKeyLen)
}

func encodeArgon2id(secret string, salt []byte, m, t uint32, p uint8, keyLen uint32) string {
	key := argon2.IDKey([]byte(secret), salt, t, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Check reports whether secret matches the stored hash, and whether the
// hash is stale: made by PBKDF2, or by argon2id with other parameters than
// today's, so it should be replaced by Hash(secret) once the secret is
// known to be right. A hash it cannot read matches nothing. The
// comparison takes constant time.
func Check(stored, secret string) (ok, stale bool) {
	if strings.HasPrefix(stored, "pbkdf2-sha256$") {
		return checkPBKDF2(stored, secret), true
	}
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, false
	}
	var m, t uint32
	var p uint8
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); n != 3 || err != nil {
		return false, false
	}
	// The bounds keep a corrupted row from costing more than a login may.
	if m < 8*uint32(p) || m > 256*1024 || t < 1 || t > 16 || p < 1 || p > 8 {
		return false, false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false, false
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(want)))
	stale = m != hashMemory || t != hashTime || p != hashThreads || len(salt) != hashSaltLen || len(want) != hashKeyLen
	return subtle.ConstantTimeCompare(got, want) == 1, stale
}

// checkPBKDF2 checks a secret against a hash of the first scheme,
// pbkdf2-sha256$<rounds>$<salt>$<key>.
func checkPBKDF2(stored, secret string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 || iter > 1_000_000 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, secret, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// DummyHash is what the secret of an unknown name is checked against, so
// that a wrong login costs the same whether or not the name exists. Its
// secret is random and forgotten; it has today's parameters
// (TestDummyHash).
const DummyHash = "$argon2id$v=19$m=19456,t=2,p=1$JSERdOBc42L6pawecwkbxQ$9AjTZrNoRqWLLdYNLGkxnVbSnPHQwGSGs9Dj0iiSpXA"

// TokenHash is what the store keeps of a bearer token (a session's, an
// API token's): its SHA-256, so that reading the table does not give one.
// A token is random with 128 bits or more, so no salt or slow hash is
// needed.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// MinPassword is the shortest password of a staff member or a merchant
// user.
const MinPassword = 12

// CheckPassword refuses a new password shorter than MinPassword
// characters or longer than 256 bytes (which argon2id would hash, at a
// cost no login should make).
func CheckPassword(p string) error {
	if n := len([]rune(p)); n < MinPassword || len(p) > 256 {
		return fenfu.FieldError("password", "a password is %d to 256 characters", MinPassword)
	}
	return nil
}
