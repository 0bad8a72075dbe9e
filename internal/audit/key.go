package audit

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"kartehub/internal/keyfile"
)

// The key files in the data directory. The private key is PKCS #8 and the
// public key PKIX (SubjectPublicKeyInfo), both PEM, as openssl writes them:
// "openssl pkey -pubin -in audit-signing.pub -text" shows the public key.
const (
	KeyFile       = "audit-signing.key"
	PublicKeyFile = "audit-signing.pub"
)

// LoadKey returns the checkpoint signing key kept in the data directory
// dir. On first use it creates one: the key file readable by its owner
// only (0600), and the public key beside it (0644), which is all that
// Verify needs. It refuses a key file that others may read, and a missing
// key file whose public key is still there: a new key would make the old
// checkpoints unverifiable with the public key an auditor holds, so the
// old key must be restored (or the public key moved away on purpose).
func LoadKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, KeyFile)
	pubPath := filepath.Join(dir, PublicKeyFile)
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(pubPath); serr != nil {
			key, err = createKey(path)
		} else if key, err = readKey(path); errors.Is(err, fs.ErrNotExist) {
			// Read again: a server starting at the same time may have made
			// the key, then its public key, since the first read.
			return nil, fmt.Errorf("audit key %s is missing but its public key %s is there: restore the key from a backup", path, pubPath)
		}
	}
	if err != nil {
		return nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	have, err := ReadPublicKey(pubPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return key, writePublicKey(pubPath, pub)
	case err != nil:
		return nil, err
	case !have.Equal(pub):
		return nil, fmt.Errorf("audit key: %s is not the public key of %s", pubPath, path)
	}
	return key, nil
}

func readKey(path string) (ed25519.PrivateKey, error) {
	return ed25519Key(keyfile.PrivateKey(path))
}

// createKey makes a new key and stores it; if another server made one
// first, it returns that one.
func createKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	return ed25519Key(keyfile.CreatePrivateKey(path, key))
}

func ed25519Key(k crypto.PrivateKey, err error) (ed25519.PrivateKey, error) {
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit key: a %T, not an Ed25519 key", k)
	}
	return key, nil
}

func writePublicKey(path string, pub ed25519.PublicKey) error {
	data, err := publicKeyPEM(pub)
	if err != nil {
		return err
	}
	if err := keyfile.WritePublic(path, data); err != nil {
		return fmt.Errorf("audit public key: %w", err)
	}
	return nil
}

func publicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ReadPublicKey reads a public key file as LoadKey writes it.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(bytes.TrimSpace(data))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("audit public key %s: not a PEM PUBLIC KEY", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit public key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit public key %s: a %T, not an Ed25519 key", path, k)
	}
	return pub, nil
}
