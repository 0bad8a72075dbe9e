package main_test

import (
	"bytes"
	"context"
	"fmt"
	"kartehub/internal/synthea"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

// bundleFile is one transaction Bundle of the sample: the "Type/id" its
// entries are stored as (the id is the entry's urn:uuid), and those of them
// that no other file of the sample also holds.
type bundleFile struct {
	name        string
	refs, owned []string
}

// readSynthea lists the transaction Bundles of the Synthea sample, or skips
// the test if this checkout has none.
func readSynthea(t *testing.T) (string, []bundleFile) {
	t.Helper()
	dir := synthea.Dir()
	if dir == "" {
		t.Skip("Synthea sample not found (../shared/data/synthea from the repository root)")
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	bundles, err := synthea.Read(paths)
	if err != nil {
		t.Fatal(err)
	}
	inFiles := map[string]int{}
	n := 0
	for _, b := range bundles {
		n += len(b.Refs)
		for _, ref := range b.Refs {
			inFiles[ref]++
		}
	}
	if n != synthea.Entries {
		t.Fatalf("the sample in %s has %d entries, want %d", dir, n, synthea.Entries)
	}
	files := make([]bundleFile, len(bundles))
	for i, b := range bundles {
		files[i] = bundleFile{name: filepath.Base(b.Path), refs: b.Refs}
		for _, ref := range b.Refs {
			if inFiles[ref] == 1 {
				files[i].owned = append(files[i].owned, ref)
			}
		}
	}
	return dir, files
}

// fileStates counts the files whose resources are all stored (complete),
// those none of whose own resources is stored (absent: organisations and
// practitioners that other files hold too may be there), and lists the
// others, which a torn transaction would have left half written.
func fileStates(t *testing.T, data string, files []bundleFile) (complete, absent int, partial []string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "kartehub.db"))
	if err != nil {
		t.Fatalf("open the data directory after the kill: %v", err)
	}
	defer st.Close()
	stored := func(ref string) bool {
		typ, id, _ := strings.Cut(ref, "/")
		_, err := st.Read(ctx, typ, id)
		if err != nil && !karte.IsKind(err, karte.NotFound) {
			t.Fatalf("read %s: %v", ref, err)
		}
		return err == nil
	}
	for _, f := range files {
		have := 0
		for _, ref := range f.refs {
			if stored(ref) {
				have++
			}
		}
		owned := 0
		for _, ref := range f.owned {
			if stored(ref) {
				owned++
			}
		}
		switch {
		case have == len(f.refs):
			complete++
		case owned == 0:
			absent++
		default:
			partial = append(partial, f.name)
			t.Errorf("%s is half written: %d of its %d resources stored, %d of the %d only it holds",
				f.name, have, len(f.refs), owned, len(f.owned))
		}
	}
	return complete, absent, partial
}

// dbSize is the size of the database and its write-ahead log.
func dbSize(data string) int64 {
	var n int64
	for _, name := range []string{"kartehub.db", "kartehub.db-wal"} {
		if info, err := os.Stat(filepath.Join(data, name)); err == nil {
			n += info.Size()
		}
	}
	return n
}

// TestImportSurvivesKill kills "kartehub import" with SIGKILL in the middle
// of the Synthea sample, checks that every file (one transaction each) is
// stored whole or not at all, then runs the import again to completion.
func TestImportSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kartehub and imports the Synthea sample in a process; skipped in -short mode")
	}
	dir, files := readSynthea(t)
	bin := buildBinary(t)

	// Kill once the database has grown past threshold: the whole sample
	// takes some 55 MB. If the kill came before the first commit or after
	// the last, move the threshold and try again.
	threshold := int64(8 << 20)
	var data string
	var complete, absent int
	for attempt := 1; ; attempt++ {
		data = t.TempDir()
		cmd := exec.Command(bin, "import", "--data", data, "--quiet", dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		killed, size := false, int64(0)
		deadline := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case err := <-exited:
				t.Logf("attempt %d: the import ended before the database reached %d MB (%v): %s", attempt, threshold>>20, err, out.Bytes())
				break wait
			case <-deadline:
				cmd.Process.Kill()
				<-exited
				t.Fatalf("attempt %d: the import neither ended nor reached %d MB in 2 minutes", attempt, threshold>>20)
			case <-time.After(2 * time.Millisecond):
				if size = dbSize(data); size >= threshold {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					<-exited
					killed = true
					break wait
				}
			}
		}
		var partial []string
		complete, absent, partial = fileStates(t, data, files)
		t.Logf("attempt %d: killed=%v at %.1f MB: %d files complete, %d absent, %d half written",
			attempt, killed, float64(size)/(1<<20), complete, absent, len(partial))
		if len(partial) > 0 {
			t.Fatalf("files half written after SIGKILL: %v", partial)
		}
		switch {
		case complete > 0 && complete < len(files):
		case attempt == 4:
			t.Fatalf("could not kill the import in its middle in %d attempts", attempt)
		case complete == 0:
			threshold *= 2
			continue
		default:
			threshold /= 2
			continue
		}
		break
	}

	// Run it again to completion.
	out, err := exec.Command(bin, "import", "--data", data, "--quiet", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("import after the kill: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("from %d files", len(files)); !bytes.Contains(out, []byte(want)) || !bytes.Contains(out, []byte(", 0 failed")) {
		t.Errorf("import after the kill printed %q, want %q and 0 failed", out, want)
	}
	after, _, partial := fileStates(t, data, files)
	if after != len(files) || len(partial) > 0 {
		t.Errorf("after the second import %d of %d files complete, half written: %v", after, len(files), partial)
	}
	t.Logf("files complete: %d before the kill (%d not started), %d of %d after the second import; %s",
		complete, absent, after, len(files), bytes.TrimSpace(out))
}
