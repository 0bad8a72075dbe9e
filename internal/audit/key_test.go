package audit_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"kartehub/internal/audit"
)

func TestLoadKeyCreates(t *testing.T) {
	dir := t.TempDir()
	key, err := audit.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{audit.KeyFile: 0o600, audit.PublicKeyFile: 0o644} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.Mode().Perm() != want {
				t.Fatalf("%s: %v, mode %v; want %v", name, err, fi.Mode().Perm(), want)
			}
		}
	}
	pub, err := audit.ReadPublicKey(filepath.Join(dir, audit.PublicKeyFile))
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("public key file: %v, %x", err, pub)
	}
	again, err := audit.LoadKey(dir)
	if err != nil || !again.Equal(key) {
		t.Fatalf("second LoadKey: %v, a different key: %v", err, !again.Equal(key))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("data directory holds %d files, want the two key files", len(entries))
	}
	// A lost public key is written again from the key.
	os.Remove(filepath.Join(dir, audit.PublicKeyFile))
	if _, err := audit.LoadKey(dir); err != nil {
		t.Fatal(err)
	}
	if pub, err := audit.ReadPublicKey(filepath.Join(dir, audit.PublicKeyFile)); err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("public key not restored: %v", err)
	}
}

func TestLoadKeyConcurrently(t *testing.T) {
	dir := t.TempDir()
	keys := make([]ed25519.PrivateKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := audit.LoadKey(dir)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !k.Equal(keys[0]) {
			t.Fatal("servers starting together made different keys")
		}
	}
}

func TestLoadKeyRefuses(t *testing.T) {
	t.Run("KeyLostPublicKeyKept", func(t *testing.T) {
		dir := t.TempDir()
		audit.LoadKey(dir)
		os.Remove(filepath.Join(dir, audit.KeyFile))
		if _, err := audit.LoadKey(dir); err == nil {
			t.Fatal("made a new key while the old public key is still there")
		}
	})
	t.Run("ReadableByOthers", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no Unix modes")
		}
		dir := t.TempDir()
		audit.LoadKey(dir)
		os.Chmod(filepath.Join(dir, audit.KeyFile), 0o644)
		if _, err := audit.LoadKey(dir); err == nil {
			t.Fatal("accepted a key file others may read")
		}
	})
	t.Run("OtherPublicKey", func(t *testing.T) {
		dir, other := t.TempDir(), t.TempDir()
		audit.LoadKey(dir)
		audit.LoadKey(other)
		data, _ := os.ReadFile(filepath.Join(other, audit.PublicKeyFile))
		os.WriteFile(filepath.Join(dir, audit.PublicKeyFile), data, 0o644)
		if _, err := audit.LoadKey(dir); err == nil {
			t.Fatal("accepted a public key file of another key")
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, audit.KeyFile), []byte("not a key"), 0o600)
		if _, err := audit.LoadKey(dir); err == nil {
			t.Fatal("accepted a key file that holds no key")
		}
		if _, err := audit.ReadPublicKey(filepath.Join(dir, audit.KeyFile)); err == nil {
			t.Fatal("ReadPublicKey accepted a file that holds no key")
		}
	})
}

func TestOpenChain(t *testing.T) {
	dir := t.TempDir()
	c, err := audit.OpenChain(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ReadPublicKey(filepath.Join(dir, audit.PublicKeyFile))
	if err != nil || !pub.Equal(c.PublicKey()) || c.Every() != 10 {
		t.Fatalf("OpenChain: %v, every %d", err, c.Every())
	}
}
