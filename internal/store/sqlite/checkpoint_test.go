package sqlite_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

// TestWALRestartsUnderLoad: under writes that never pause, the WAL of the
// record is still written again from its beginning, so it does not grow
// for as long as the load lasts. Each restart raises the checkpoint
// sequence number in the WAL's header.
func TestWALRestartsUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kartehub.db")
	st := openAt(t, path)
	w := newResourceWriter(st)
	w.until(t, time.Now().Add(100*time.Millisecond))
	first := walSequence(t, path)
	w.until(t, time.Now().Add(1500*time.Millisecond)) // six checkpoint rounds
	if last := walSequence(t, path); last == first {
		t.Fatalf("after 1.5 s of steady writes (%d in all) the WAL has not been restarted once (checkpoint sequence %d)", w.n, last)
	}
}

// TestTrailWALRestarts: the audit trail's writer copies its WAL back
// itself, so under appends that never pause its WAL is written from its
// beginning again too.
func TestTrailWALRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kartehub.db")
	st := openAt(t, path)
	recs := audittest.Chained(t, 1500)
	first := uint32(0)
	for i := range recs {
		if err := st.AppendAudit(t.Context(), recs[i:i+1]); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = walSequence(t, sqlite.AuditPath(path))
		}
	}
	if last := walSequence(t, sqlite.AuditPath(path)); last == first {
		t.Fatalf("after %d appends the trail's WAL has not been restarted once (checkpoint sequence %d)", len(recs), last)
	}
}

// TestLongReadDoesNotHoldWrites: a reader that keeps one snapshot open for
// seconds, as a long export might, delays writes by no more than the
// checkpointer's short wait, however often it checkpoints meanwhile.
func TestLongReadDoesNotHoldWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kartehub.db")
	st := openAt(t, path)
	w := newResourceWriter(st)
	w.until(t, time.Now().Add(50*time.Millisecond))

	reader, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := reader.Exec(`BEGIN; SELECT count(*) FROM resource_version;`); err != nil {
		t.Fatal(err)
	}
	slowest := w.until(t, time.Now().Add(2*time.Second))
	reader.Exec(`COMMIT`)
	// Generous: the checkpointer gives up after 50 ms; a write that waited
	// for the reader to finish would have waited two seconds.
	if slowest > time.Second {
		t.Fatalf("a write waited %v while a reader held its snapshot", slowest)
	}
}

// resourceWriter writes new versions of resources, one write at a time.
type resourceWriter struct {
	st *sqlite.Store
	n  int
}

func newResourceWriter(st *sqlite.Store) *resourceWriter { return &resourceWriter{st: st} }

// until writes until end and returns the longest write.
func (w *resourceWriter) until(t *testing.T, end time.Time) (slowest time.Duration) {
	t.Helper()
	for time.Now().Before(end) {
		i := w.n
		w.n++
		r := &karte.Resource{Type: "Basic", ID: fmt.Sprint("b", i%200), VersionID: int64(i/200 + 1),
			LastUpdated: time.Now(), Method: "PUT", Body: []byte(`{"resourceType":"Basic"}`)}
		start := time.Now()
		err := w.st.Write(context.Background(), func(tx karte.Tx) error { return tx.Put(context.Background(), r, &karte.Index{}) })
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	return slowest
}

// walSequence is the checkpoint sequence number in the header of the
// WAL of the database at path.
func walSequence(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := make([]byte, 32)
	if _, err := f.ReadAt(h, 0); err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(h[12:16])
}
