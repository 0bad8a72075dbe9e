package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are the cost parameters of argon2id (RFC 9106).
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes of random salt
	KeyLen  uint32 // bytes of derived key
}

// DefaultHashParams are tuned so that one hash takes 50-100 ms on the
// 2-core machine kartehub was built on (AMD EPYC, Go 1.26,
// golang.org/x/crypto v0.59.0), measured with BenchmarkHash on an idle
// machine (and, in brackets, while other builds ran):
//
//	m=19 MiB t=2 p=1   21-23 ms           (the OWASP minimum: too fast here)
//	m=32 MiB t=3 p=1   57-61 ms
//	m=46 MiB t=2 p=1   57-60 ms (72-75)
//	m=56 MiB t=2 p=1   74-75 ms           <- chosen
//	m=64 MiB t=2 p=1   82-89 ms (92-107)
//	m=46 MiB t=2 p=2   32-33 ms (60-68)   (two lanes need both cores)
//
// One lane leaves the other core to another login; the memory (56 MiB per
// hash in progress) is bounded by Service, which runs at most GOMAXPROCS
// hashes at once. The parameters are stored in every hash, so raising them
// later re-hashes each password at its owner's next login.
var DefaultHashParams = HashParams{Memory: 56 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters read back from a stored hash, so that a damaged
// or planted hash cannot make one login take all the memory.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxKeyLen  = 128
	minSaltLen = 8
)

var b64 = base64.RawStdEncoding

// Hash returns the argon2id hash of secret with a new random salt, in the
// PHC string format that the reference implementation writes:
//
//	$argon2id$v=19$m=57344,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64.
func Hash(secret string, p HashParams) (string, error) {
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.SaltLen < minSaltLen || p.KeyLen < 16 {
		return "", fmt.Errorf("argon2id: parameters out of range: %+v", p)
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether secret matches the PHC string phc, comparing the
// derived keys in constant time. It returns an error if phc is not an
// argon2id hash it can check.
func Verify(phc, secret string) (bool, error) {
	h, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(secret), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// NeedsRehash reports whether phc was made with parameters other than p
// (or cannot be read), so that a login that has just verified the password
// should store a new hash.
func NeedsRehash(phc string, p HashParams) bool {
	h, err := parsePHC(phc)
	return err != nil || h.params.Memory != p.Memory || h.params.Time != p.Time ||
		h.params.Threads != p.Threads || uint32(len(h.key)) != p.KeyLen || uint32(len(h.salt)) != p.SaltLen
}

type phcHash struct {
	params    HashParams
	salt, key []byte
}

var errNotArgon2id = errors.New("not an argon2id hash in PHC format")

func parsePHC(s string) (*phcHash, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errNotArgon2id
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("argon2id: unsupported version %q", parts[2])
	}
	var h phcHash
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("argon2id: parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			h.params.Memory, seen = uint32(n), seen|1
		case "t":
			h.params.Time, seen = uint32(n), seen|2
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("argon2id: parameter %q out of range", kv)
			}
			h.params.Threads, seen = uint8(n), seen|4
		default:
			return nil, fmt.Errorf("argon2id: unknown parameter %q", kv)
		}
	}
	if seen != 7 {
		return nil, fmt.Errorf("argon2id: parameters %q lack m, t or p", parts[3])
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return nil, fmt.Errorf("argon2id: salt: %w", err)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil {
		return nil, fmt.Errorf("argon2id: hash: %w", err)
	}
	p := h.params
	if p.Memory > maxMemory || p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Time > maxTime || p.Threads < 1 ||
		len(h.salt) < minSaltLen || len(h.key) < 16 || len(h.key) > maxKeyLen {
		return nil, fmt.Errorf("argon2id: parameters out of range: m=%d t=%d p=%d, %d-byte salt, %d-byte hash",
			p.Memory, p.Time, p.Threads, len(h.salt), len(h.key))
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	return &h, nil
}
