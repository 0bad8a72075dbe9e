package keyfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"kartehub/internal/keyfile"
)

func TestCreateRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.key")
	if _, err := keyfile.Read(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a missing key: %v, want fs.ErrNotExist", err)
	}
	got, err := keyfile.Create(path, []byte("secret"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("Create: %q, %v", got, err)
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got, err := keyfile.Create(path, []byte("other")); err != nil || string(got) != "secret" {
		t.Errorf("Create over an existing key: %q, %v; want the existing key", got, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestCreateRace: processes starting at once on one directory end up
// with one key.
func TestCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.key")
	var wg sync.WaitGroup
	keys := make([][]byte, 16)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := keyfile.Create(path, []byte{byte('a' + i)})
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatalf("different keys: %q", keys)
		}
	}
}

func TestReadRefusesOpenKey(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "open.key")
	if _, err := keyfile.Create(path, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := keyfile.Read(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Read of a key others may read: %v", err)
	}
}

func TestWritePublic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.pub")
	for _, data := range []string{"one", "two"} {
		if err := keyfile.WritePublic(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != data {
			t.Errorf("got %q, want %q", got, data)
		}
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}
