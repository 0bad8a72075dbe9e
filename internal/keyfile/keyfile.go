// Package keyfile keeps the server's secret keys in files of its data
// directory: readable by their owner only, and created so that a crash
// never leaves half a key and two processes starting at once on one
// directory agree on one key. What a key is, and how it is encoded, is the
// business of the package that uses it (audit, oauth, account).
package keyfile

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Read returns the contents of the key file at path. It refuses a file
// that others may read: a key that has been readable must be thought
// compromised, and the operator must decide what to do. A missing file is
// an error that wraps fs.ErrNotExist.
func Read(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %#o: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	return os.ReadFile(path)
}

// Create stores data as the new key file at path (mode 0600) and returns
// what the file then holds: data, or, if another process created the file
// first, that process's key, which the caller must use instead.
func Create(path string, data []byte) ([]byte, error) {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, data, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	// A hard link puts the complete file in place, or fails if one is
	// there: unlike a rename, it never replaces another process's key.
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return Read(path)
	} else if err != nil {
		return nil, err
	}
	return data, syncDir(dir)
}

// WritePublic stores data at path with mode 0644, replacing what is there:
// for public keys, which others need to read.
func WritePublic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, data, 0o644)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// writeTemp writes data to a new file in dir with mode perm, synced, and
// returns its name.
func writeTemp(dir string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, ".key-*") // created 0600
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil && perm != 0o600 {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes the directory entry of a new file durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// PrivateKey reads a private key file holding a PEM PKCS #8 "PRIVATE
// KEY", refusing one that others may read.
func PrivateKey(path string) (crypto.PrivateKey, error) {
	data, err := Read(path)
	if err != nil {
		return nil, err
	}
	return parsePrivateKey(path, data)
}

// CreatePrivateKey stores key as a new PEM PKCS #8 key file at path, as
// Create does, and returns the key the file then holds: key, or the one
// another process stored first.
func CreatePrivateKey(path string, key crypto.PrivateKey) (crypto.PrivateKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	stored, err := Create(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		return nil, err
	}
	return parsePrivateKey(path, stored)
}

func parsePrivateKey(path string, data []byte) (crypto.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("key file %s: not a PEM PRIVATE KEY (PKCS #8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}
