// Package audittest checks karte.AuditLog implementations: the contract of
// the interface, gapless appends under concurrency, searches of a
// karte.AuditSearcher, and that tampering done directly in the database (as
// an intruder with database access would) makes audit.Verify fail at the
// right record. Each engine runs it with one call of Run. MemLog is an
// AuditLog in memory, for tests above the store.
package audittest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
	"kartehub/internal/keyfile"
)

// Harness is one engine's fresh, empty audit log.
type Harness struct {
	Log karte.AuditLog
	// Exec runs one SQL statement directly on the log's database, outside
	// the engine, with parameters $1, $2, ... (each used once, in order),
	// binding int64, []byte and nil. Nil skips the tampering tests.
	Exec func(ctx context.Context, sql string, args ...any) error
	// Unguard are the statements that switch off the append-only guards
	// of audit_block, audit_epoch and audit_block_index, as an intruder
	// would before tampering. The engine must index its blocks in epochs
	// of Epoch records, as the engines' own tests make them.
	Unguard []string
	// Legacy, if set, returns the log of a database that held recs in the
	// table audit_log of schema version 5 (kartehub before blocks) when
	// it was opened, and so migrated.
	Legacy func(t *testing.T, recs []karte.AuditRecord) karte.AuditLog
	// Count runs a query that gives one integer directly on the log's
	// database. Reopen returns a new log on the same database, as a
	// restart of the server gives. Without both, the test of indexing in
	// steps is skipped.
	Count  func(ctx context.Context, query string) (int64, error)
	Reopen func(t *testing.T) karte.AuditLog
}

// Run runs the suite; open returns a new, empty log for each test.
func Run(t *testing.T, open func(t *testing.T) Harness) {
	t.Run("Contract", func(t *testing.T) { testContract(t, open(t).Log) })
	t.Run("Gapless", func(t *testing.T) { testGapless(t, open(t).Log) })
	t.Run("TwoWriters", func(t *testing.T) { testTwoWriters(t, open(t).Log) })
	t.Run("Search", func(t *testing.T) { testSearch(t, open(t).Log) })
	t.Run("Guards", func(t *testing.T) {
		h := open(t)
		if h.Exec == nil {
			t.Skip("no direct database access")
		}
		testGuards(t, h)
	})
	t.Run("Tamper", func(t *testing.T) { testTamper(t, open) })
	t.Run("IndexSteps", func(t *testing.T) {
		h := open(t)
		if h.Count == nil || h.Reopen == nil {
			t.Skip("no direct database access")
		}
		testIndexSteps(t, h)
	})
	t.Run("Legacy", func(t *testing.T) {
		h := open(t)
		if h.Legacy == nil {
			t.Skip("no legacy database")
		}
		testLegacy(t, h)
	})
}

// Key is the fixed signing key of the tests.
var Key = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// WriteKey keeps Key in the data directory dir, as the server keeps its
// audit key there (audit.LoadKey): commands run on dir then sign with it.
func WriteKey(t testing.TB, dir string) {
	t.Helper()
	if _, err := keyfile.CreatePrivateKey(filepath.Join(dir, audit.KeyFile), Key); err != nil {
		t.Fatal(err)
	}
}

// Every is the checkpoint interval of Build: small, so that a short log
// has several checkpoints.
const Every = 4

// Event returns a read of patient n's Observation.
func Event(n int) *audit.Event {
	return &audit.Event{
		Type:        audit.Rest,
		Interaction: "read",
		User:        &audit.User{Reference: "Practitioner/dr-sato", System: "urn:kartehub:user", ID: "sato", Name: "佐藤 花子"},
		Client:      &audit.Client{ID: "emr-viewer", Address: "10.0.0.8"},
		Resource:    fmt.Sprintf("Observation/o%d", n),
		Patients:    []string{fmt.Sprintf("Patient/p%d", n)},
	}
}

// Clock returns a clock that starts at a fixed time and moves 1 ms (and a
// few nanoseconds, which must survive the round trip) on every call.
func Clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 4, 1, 9, 0, 0, 123, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond + 7)
		return t
	}
}

// Build records n events one by one (one append each) with checkpoints
// every Every records, and returns the log's records.
func Build(t testing.TB, log karte.AuditLog, n int) []karte.AuditRecord {
	t.Helper()
	w := audit.NewWriter(log, audit.NewChain(Key, Every), audit.WriterOptions{Now: Clock(), Interval: -1})
	defer w.Close()
	for i := 1; i <= n; i++ {
		if err := w.Record(context.Background(), Event(i)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	recs, err := log.AuditRecords(context.Background(), 0, n+1)
	if err != nil || len(recs) != n {
		t.Fatalf("AuditRecords: %d records (%v), want %d", len(recs), err, n)
	}
	return recs
}

// VerifyBuilt verifies a log written by Build.
func VerifyBuilt(ctx context.Context, log karte.AuditLog) (*audit.Report, error) {
	return (&audit.Verifier{Key: Key.Public().(ed25519.PublicKey), Every: Every, PageSize: 5}).Verify(ctx, log)
}

func testContract(t *testing.T, log karte.AuditLog) {
	ctx := t.Context()
	if last, err := log.LastAudit(ctx); err != nil || last != nil {
		t.Fatalf("LastAudit of an empty log: %v, %v; want nil, nil", last, err)
	}
	if recs, err := log.AuditRecords(ctx, 0, 10); err != nil || len(recs) != 0 {
		t.Fatalf("AuditRecords of an empty log: %d records, %v", len(recs), err)
	}
	if err := log.AppendAudit(ctx, nil); err != nil {
		t.Fatalf("appending nothing: %v", err)
	}
	chain := audit.NewChain(Key, 2)
	now := time.Date(2026, 4, 1, 9, 0, 0, 999_999_999, time.FixedZone("JST", 9*3600))
	var recs []karte.AuditRecord
	var last *karte.AuditRecord
	for i := range 5 {
		at := now.Add(time.Duration(i) * time.Second)
		event, err := Event(i).JSON(at, audit.Source{})
		if err != nil {
			t.Fatal(err)
		}
		r := chain.Next(last, at, event, false)
		if i != 2 { // record 3 is stored without index entries, as before schema version 6
			r.Index, _ = audit.Index(event)
		}
		recs = append(recs, r)
		last = &recs[len(recs)-1]
	}
	// The log sorts the index entries it is given.
	appended := slices.Clone(recs)
	for i := range appended {
		appended[i].Index = slices.Clone(recs[i].Index)
		slices.Reverse(appended[i].Index)
	}
	if err := log.AppendAudit(ctx, appended[1:2]); !karte.IsKind(err, karte.Conflict) {
		t.Fatalf("appending record 2 to an empty log: %v, want Conflict", err)
	}
	if err := log.AppendAudit(ctx, appended[:3]); err != nil {
		t.Fatalf("appending records 1-3: %v", err)
	}
	for _, bad := range [][]karte.AuditRecord{appended[2:4], appended[4:5], {appended[3], appended[4], appended[4]}, {appended[3], appended[0]}} {
		if err := log.AppendAudit(ctx, bad); !karte.IsKind(err, karte.Conflict) {
			t.Fatalf("appending records %d-%d after 3: %v, want Conflict", bad[0].Seq, bad[len(bad)-1].Seq, err)
		}
	}
	if err := log.AppendAudit(ctx, appended[3:]); err != nil {
		t.Fatalf("appending records 4-5: %v", err)
	}
	got, err := log.AuditRecords(ctx, 0, 2)
	if err != nil || len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 {
		t.Fatalf("AuditRecords(0, 2): %v, %v", seqs(got), err)
	}
	got, err = log.AuditRecords(ctx, 2, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("AuditRecords(2, 10): %v, %v", seqs(got), err)
	}
	for i, r := range got {
		same(t, r, recs[2+i], true)
	}
	if last, err := log.LastAudit(ctx); err != nil || last == nil {
		t.Fatalf("LastAudit: %v, %v", last, err)
	} else {
		same(t, *last, recs[4], false)
	}
	// Record 3 has no index entries after records that have some: Verify
	// takes that for entries removed.
	_, err = audit.Verify(ctx, log, Key.Public().(ed25519.PublicKey))
	if be := (*audit.BrokenError)(nil); !errors.As(err, &be) || be.Seq != 3 || be.Problem != audit.IndexMismatch {
		t.Fatalf("Verify: %v, want an index mismatch at record 3", err)
	}
}

func seqs(recs []karte.AuditRecord) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

// same checks that the log gave back r as it was appended, with its
// index entries if index is set.
func same(t *testing.T, got, want karte.AuditRecord, index bool) {
	t.Helper()
	if got.Seq != want.Seq || !got.Time.Equal(want.Time) || !bytes.Equal(got.Event, want.Event) ||
		!bytes.Equal(got.Prev, want.Prev) || !bytes.Equal(got.Hash, want.Hash) ||
		!bytes.Equal(got.Checkpoint, want.Checkpoint) || (got.Checkpoint == nil) != (want.Checkpoint == nil) ||
		index && !slices.Equal(got.Index, want.Index) {
		t.Fatalf("record %d came back as\n%+v\nwant\n%+v", want.Seq, got, want)
	}
}

// testGapless: concurrent callers of one Writer make one gapless chain.
func testGapless(t *testing.T, log karte.AuditLog) {
	const callers, each = 8, 50
	w := audit.NewWriter(log, audit.NewChain(Key, 0), audit.WriterOptions{})
	record(t, w, callers, each)
	w.Close()
	rep, err := audit.Verify(t.Context(), log, Key.Public().(ed25519.PublicKey))
	if err != nil || rep.Records != callers*each || rep.LastSeq != callers*each {
		t.Fatalf("Verify: %+v, %v; want %d records", rep, err, callers*each)
	}
	t.Logf("writer: %+v", w.Stats())
}

// testTwoWriters: two Writers on one log, as two servers on one database,
// make one chain: the loser of each race chains its batch again.
func testTwoWriters(t *testing.T, log karte.AuditLog) { TwoWriters(t, log, log) }

// TwoWriters records events from two Writers at once, one on log1 and one
// on log2, which are one log (two servers on one database, say), and
// checks that the chain they leave is intact and whole.
func TwoWriters(t *testing.T, log1, log2 karte.AuditLog) {
	const callers, each = 4, 25
	w1 := audit.NewWriter(log1, audit.NewChain(Key, 10), audit.WriterOptions{Source: audit.Source{Observer: "one"}})
	w2 := audit.NewWriter(log2, audit.NewChain(Key, 10), audit.WriterOptions{Source: audit.Source{Observer: "two"}})
	var wg sync.WaitGroup
	wg.Go(func() { record(t, w1, callers, each) })
	wg.Go(func() { record(t, w2, callers, each) })
	wg.Wait()
	w1.Close()
	w2.Close()
	rep, err := (&audit.Verifier{Key: Key.Public().(ed25519.PublicKey), Every: 10}).Verify(t.Context(), log1)
	if err != nil || rep.Records != 2*callers*each {
		t.Fatalf("Verify: %+v, %v; want %d records", rep, err, 2*callers*each)
	}
}

// record has callers goroutines record each events on w.
func record(t *testing.T, w *audit.Writer, callers, each int) {
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				if err := w.Record(t.Context(), Event(c*each+i)); err != nil {
					t.Errorf("caller %d, event %d: %v", c, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// MemLog is a karte.AuditLog in memory, safe for concurrent use.
type MemLog struct {
	mu   sync.Mutex
	recs []karte.AuditRecord
}

var (
	_ karte.AuditLog      = (*MemLog)(nil)
	_ karte.AuditSearcher = (*MemLog)(nil)
)

// AppendAudit implements karte.AuditLog.
func (m *MemLog) AppendAudit(_ context.Context, recs []karte.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := int64(1)
	if n := len(m.recs); n > 0 {
		next = m.recs[n-1].Seq + 1
	}
	for i, r := range recs {
		if r.Seq != next+int64(i) {
			return karte.Errorf(karte.Conflict, "audit record %d is not next (%d)", r.Seq, next+int64(i))
		}
	}
	for _, r := range recs {
		r.Event, r.Prev, r.Hash, r.Checkpoint = bytes.Clone(r.Event), bytes.Clone(r.Prev), bytes.Clone(r.Hash), bytes.Clone(r.Checkpoint)
		r.Index = slices.Clone(r.Index)
		slices.SortFunc(r.Index, audit.CompareIndexEntries)
		m.recs = append(m.recs, r)
	}
	return nil
}

// AuditRecords implements karte.AuditLog.
func (m *MemLog) AuditRecords(_ context.Context, after int64, n int) ([]karte.AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []karte.AuditRecord
	for _, r := range m.recs {
		if r.Seq > after && len(out) < n {
			out = append(out, r)
		}
	}
	return out, nil
}

// LastAudit implements karte.AuditLog.
func (m *MemLog) LastAudit(context.Context) (*karte.AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return nil, nil
	}
	r := m.recs[len(m.recs)-1]
	r.Index = nil
	return &r, nil
}

// Tamper replaces the records with what fn makes of them, as an intruder
// would.
func (m *MemLog) Tamper(fn func([]karte.AuditRecord) []karte.AuditRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = fn(m.recs)
}

// Benchmark records events on a Writer over the log that open returns,
// with 1, 8 and 64 concurrent callers, and reports events/s and how many
// events shared an append.
func Benchmark(b *testing.B, open func(b *testing.B) karte.AuditLog) {
	for _, callers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			w := audit.NewWriter(open(b), audit.NewChain(Key, 0), audit.WriterOptions{})
			defer w.Close()
			ev := Event(1)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := range callers {
				n := b.N / callers
				if c < b.N%callers {
					n++
				}
				wg.Go(func() {
					for range n {
						if err := w.Record(context.Background(), ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			s := w.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(s.Records)/float64(max(s.Batches, 1)), "events/append")
		})
	}
}
