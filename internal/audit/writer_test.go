package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
)

var pub = audittest.Key.Public().(ed25519.PublicKey)

// slowLog is a MemLog whose appends take a while, as an fsync does, and
// can be made to fail.
type slowLog struct {
	audittest.MemLog
	delay time.Duration
	fail  atomic.Bool
}

func (l *slowLog) AppendAudit(ctx context.Context, recs []karte.AuditRecord) error {
	time.Sleep(l.delay)
	if l.fail.Load() {
		return errors.New("disk full")
	}
	return l.MemLog.AppendAudit(ctx, recs)
}

// TestWriterBatches: callers that record together share appends, and the
// events come out in one gapless chain.
func TestWriterBatches(t *testing.T) {
	log := &slowLog{delay: 2 * time.Millisecond}
	w := audit.NewWriter(log, audit.NewChain(audittest.Key, 0), audit.WriterOptions{})
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			for i := range 10 {
				if err := w.Record(t.Context(), audittest.Event(c*10+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	st := w.Stats()
	if st.Records != 160 || st.Batches > 40 {
		t.Fatalf("stats %+v: want 160 records in far fewer batches", st)
	}
	if rep, err := audit.Verify(t.Context(), log, pub); err != nil || rep.Records != 160 {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
}

// TestWriterLinger: under load the Writer gathers the events of callers
// that are about to record, so that fewer appends carry them; alone, an
// event is appended at once, however long the Writer may linger.
func TestWriterLinger(t *testing.T) {
	batches := func(linger time.Duration) int64 {
		log := &slowLog{delay: time.Millisecond}
		w := audit.NewWriter(log, audit.NewChain(audittest.Key, 0), audit.WriterOptions{Linger: linger})
		var wg sync.WaitGroup
		for c := range 16 {
			wg.Go(func() {
				for i := range 20 {
					if err := w.Record(t.Context(), audittest.Event(c*20+i)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		w.Close()
		if rep, err := audit.Verify(t.Context(), log, pub); err != nil || rep.Records != 320 {
			t.Fatalf("Verify: %+v, %v", rep, err)
		}
		return w.Stats().Batches
	}
	without, with := batches(-1), batches(0)
	t.Logf("320 events from 16 callers: %d appends without gathering, %d with", without, with)
	if with > without {
		t.Errorf("gathering: %d appends, more than %d without", with, without)
	}

	// One caller at a time: no append holds several events, so the
	// Writer never gathers.
	w := audit.NewWriter(&audittest.MemLog{}, audit.NewChain(audittest.Key, 0), audit.WriterOptions{Linger: time.Second})
	defer w.Close()
	start := time.Now()
	for i := range 20 {
		if err := w.Record(t.Context(), audittest.Event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("20 events one at a time took %v: the Writer waited", d)
	}
}

// TestWriterFailsClosed: an event that could not be appended is reported
// to its caller, and the Writer carries on from what the log holds.
func TestWriterFailsClosed(t *testing.T) {
	log := &slowLog{}
	w := audit.NewWriter(log, audit.NewChain(audittest.Key, 0), audit.WriterOptions{})
	defer w.Close()
	if err := w.Record(t.Context(), audittest.Event(1)); err != nil {
		t.Fatal(err)
	}
	log.fail.Store(true)
	if err := w.Record(t.Context(), audittest.Event(2)); err == nil {
		t.Fatal("Record succeeded while the log failed")
	}
	log.fail.Store(false)
	if err := w.Record(t.Context(), audittest.Event(3)); err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.Verify(t.Context(), log, pub); err != nil || rep.Records != 2 {
		t.Fatalf("Verify: %+v, %v; want the 2 recorded events", rep, err)
	}
}

// TestWriterResumes: a new Writer (a restarted server) continues the chain.
func TestWriterResumes(t *testing.T) {
	log := &audittest.MemLog{}
	for range 3 {
		w := audit.NewWriter(log, audit.NewChain(audittest.Key, 0), audit.WriterOptions{})
		for i := range 5 {
			if err := w.Record(t.Context(), audittest.Event(i)); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
	}
	if rep, err := audit.Verify(t.Context(), log, pub); err != nil || rep.LastSeq != 15 {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
}

func TestWriterCheckpoints(t *testing.T) {
	log := &audittest.MemLog{}
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(20 * time.Second); return now }
	w := audit.NewWriter(log, audit.NewChain(audittest.Key, 100), audit.WriterOptions{Now: clock, Interval: time.Minute})
	for i := range 6 {
		if err := w.Record(t.Context(), audittest.Event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Checkpoint(t.Context(), &audit.Event{Type: audit.ApplicationStop}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	recs, _ := log.AuditRecords(t.Context(), 0, 100)
	var signed []int64
	for _, r := range recs {
		if r.Checkpoint != nil {
			signed = append(signed, r.Seq)
		}
	}
	// A record every 20 s, a checkpoint once a minute has passed, and one
	// on demand at the end.
	if len(signed) != 3 || signed[0] != 3 || signed[1] != 6 || signed[2] != 7 {
		t.Fatalf("checkpoints at %v, want [3 6 7]", signed)
	}
	rep, err := (&audit.Verifier{Key: pub, Every: 100}).Verify(t.Context(), log)
	if err != nil || rep.Checkpoints != 3 || rep.LastCheckpoint != 7 {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	if st := w.Stats(); st.Checkpoints != 3 || st.Records != 7 {
		t.Fatalf("stats %+v", st)
	}
}

// TestWriterClose: Close appends every event queued before it, and Record
// fails after it.
func TestWriterClose(t *testing.T) {
	log := &slowLog{delay: time.Millisecond}
	w := audit.NewWriter(log, audit.NewChain(audittest.Key, 0), audit.WriterOptions{})
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if w.Record(context.Background(), audittest.Event(i)) == nil {
				ok.Add(1)
			}
		})
	}
	time.Sleep(2 * time.Millisecond)
	w.Close()
	wg.Wait()
	rep, err := audit.Verify(t.Context(), log, pub)
	if err != nil || rep.Records != ok.Load() {
		t.Fatalf("Verify: %+v, %v; %d Records succeeded", rep, err, ok.Load())
	}
	if err := w.Record(t.Context(), audittest.Event(99)); !karte.IsKind(err, karte.Unavailable) {
		t.Fatalf("Record after Close: %v, want Unavailable", err)
	}
	w.Close() // twice is fine
}

func TestWriterContext(t *testing.T) {
	w := audit.NewWriter(&audittest.MemLog{}, audit.NewChain(audittest.Key, 0), audit.WriterOptions{})
	defer w.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := w.Record(ctx, audittest.Event(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Record with a cancelled context: %v", err)
	}
	if err := w.Record(t.Context(), &audit.Event{Type: audit.Rest, Interaction: "nonsense"}); err == nil {
		t.Fatal("Record of an invalid event succeeded")
	}
}
