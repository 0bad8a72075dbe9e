package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"kartehub/internal/keyfile"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the account key in the data directory: 32 random
// bytes, hex, readable by the owner only (0600). It seals the TOTP secrets
// in the database, so that a copy of the database alone (a backup, a
// PostgreSQL dump) does not give them away. Back it up apart from the
// database: without it every enrolled TOTP must be enrolled again.
const KeyFile = "account.key"

// KeySize is the size of the account key: AES-256.
const KeySize = 32

// LoadKey returns the account key kept in the data directory dir, creating
// it on first use. It refuses a key file that others may read.
func LoadKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	return key, err
}

func readKey(path string) ([]byte, error) {
	b, err := keyfile.Read(path)
	if err != nil {
		return nil, err
	}
	return parseKey(path, b)
}

func parseKey(path string, b []byte) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("account key %s: want %d bytes in hex", path, KeySize)
	}
	return key, nil
}

// createKey makes a key and stores it; if another server made one first,
// it returns that one.
func createKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	rand.Read(key)
	stored, err := keyfile.Create(path, []byte(hex.EncodeToString(key)+"\n"))
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	return parseKey(path, stored)
}

// sealPrefix marks the format of a sealed secret, so that a later format
// (or key rotation) can tell them apart.
const sealPrefix = "v1:"

// errNoKey is returned by TOTP operations on a Service without a key.
var errNoKey = errors.New("account: TOTP needs the account key (Config.Key, see LoadKey)")

// sealer encrypts TOTP secrets with AES-256-GCM. The associated data binds
// each sealed secret to its account, so that it cannot be copied to
// another account's row.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if key == nil {
		return nil, nil
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("account key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func sealData(accountID string) []byte { return []byte("kartehub totp " + accountID) }

func (s *sealer) seal(accountID string, secret []byte) (string, error) {
	if s == nil {
		return "", errNoKey
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, secret, sealData(accountID))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

func (s *sealer) open(accountID, sealed string) ([]byte, error) {
	if s == nil {
		return nil, errNoKey
	}
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, errors.New("account: sealed TOTP secret in an unknown format")
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return nil, errors.New("account: sealed TOTP secret is damaged")
	}
	secret, err := s.aead.Open(nil, b[:n], b[n:], sealData(accountID))
	if err != nil {
		return nil, errors.New("account: the TOTP secret does not open with this account key (wrong key file?)")
	}
	return secret, nil
}
