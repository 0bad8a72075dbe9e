package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"kartehub/internal/karte"
)

// writers is how many goroutines write at once in the concurrency tests.
const writers = 16

// raceWindow is how long the racing fns wait between looking and writing,
// so that a missing lock shows on every run, not on one in ten.
const raceWindow = 2 * time.Millisecond

// together runs fn(i) on writers goroutines released at the same moment and
// fails the test for every error they return.
func together(t *testing.T, fn func(i int) error) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			errs <- fn(i)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent write: %v", err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// testConcurrentConditionalCreate: writers that Lock the same key, look for
// an identifier and create only if none is found leave exactly one resource.
func testConcurrentConditionalCreate(t *testing.T, open opener) {
	s := openStore(t, open)
	ctx := t.Context()
	id := ident(sysA, "conditional")
	together(t, func(i int) error {
		return s.Write(ctx, func(tx karte.Tx) error {
			if err := tx.Lock(ctx, "Patient?identifier="+id.System+"|"+id.Value); err != nil {
				return err
			}
			ids, err := tx.FindByIdentifier(ctx, "Patient", id)
			if err != nil || len(ids) > 0 {
				return err
			}
			time.Sleep(raceWindow)
			r := version("Patient", fmt.Sprintf("p%d", i), 1, at(i))
			return tx.Put(ctx, r, &karte.Index{Identifiers: []karte.Identifier{id}})
		})
	})
	if ids := find(t, s, "Patient", id); len(ids) != 1 {
		t.Fatalf("%d conditional creates left %v, want exactly one resource", writers, ids)
	}
	if p := history(t, s, karte.HistoryQuery{Type: "Patient"}); p.Total != 1 {
		t.Fatalf("%d conditional creates left %d versions, want 1", writers, p.Total)
	}
}

// update puts the version after the current one of typ/id, or version 1 if
// there is none; its time and body follow from the version number. It
// waits window between reading and writing.
func update(ctx context.Context, tx karte.Tx, typ, id string, window time.Duration) error {
	next := int64(1)
	cur, err := tx.Current(ctx, typ, id)
	switch {
	case err == nil:
		next = cur.VersionID + 1
	case !karte.IsKind(err, karte.NotFound):
		return err
	}
	time.Sleep(window)
	return tx.Put(ctx, version(typ, id, next, at(int(next))), &karte.Index{})
}

// checkConsecutive fails unless typ/id has exactly versions 1..n, each with
// the body update wrote, and Seq growing with the version.
func checkConsecutive(t *testing.T, s karte.Store, typ, id string, n int) {
	t.Helper()
	p := history(t, s, karte.HistoryQuery{Type: typ, ID: id, Count: 100})
	if p.Total != n || len(p.Versions) != n {
		t.Fatalf("%s/%s has %d versions (Total %d), want %d", typ, id, len(p.Versions), p.Total, n)
	}
	for i, r := range p.Versions {
		v := int64(n - i)
		if r.VersionID != v || !bytes.Equal(r.Body, body(typ, id, v, at(int(v)))) || (i > 0 && r.Seq >= p.Versions[i-1].Seq) {
			t.Fatalf("history of %s/%s, newest first: position %d holds %s (Seq %d), want version %d",
				typ, id, i, name(r), r.Seq, v)
		}
	}
	checkResource(t, read(t, s, typ, id), p.Versions[0])
}

// testConcurrentUpdates: writers that each read the current version and put
// the next all succeed (engines retry or serialise) and leave consecutive
// versions.
func testConcurrentUpdates(t *testing.T, open opener) {
	s := openStore(t, open)
	put(t, s, version("Patient", "p", 1, at(1)))
	together(t, func(int) error {
		return s.Write(t.Context(), func(tx karte.Tx) error { return update(t.Context(), tx, "Patient", "p", raceWindow) })
	})
	checkConsecutive(t, s, "Patient", "p", writers+1)
}

// testConcurrentCreatesOfOneID: writers that all find no resource and
// create the same id at once all succeed: the engine retries the losers,
// whose fn then sees the winner's version and puts the next.
func testConcurrentCreatesOfOneID(t *testing.T, open opener) {
	s := openStore(t, open)
	together(t, func(int) error {
		return s.Write(t.Context(), func(tx karte.Tx) error { return update(t.Context(), tx, "Patient", "new", raceWindow) })
	})
	checkConsecutive(t, s, "Patient", "new", writers)
}

// testReadsDuringWrites: reads running while writes commit see whole
// writes only and never go back in time. The writer puts a and b together,
// so b read before a can never be newer; a history page is one consistent
// view (Total matches the newest version it shows).
func testReadsDuringWrites(t *testing.T, open opener) {
	s := openStore(t, open)
	const rounds = 40
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		if err := update(t.Context(), tx, "Patient", "a", 0); err != nil {
			return err
		}
		return update(t.Context(), tx, "Patient", "b", 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { readUntil(t, s, done) })
	}
	for range rounds - 1 {
		err := s.Write(t.Context(), func(tx karte.Tx) error {
			if err := update(t.Context(), tx, "Patient", "a", 0); err != nil {
				return err
			}
			return update(t.Context(), tx, "Patient", "b", 0)
		})
		if err != nil {
			t.Errorf("write: %v", err)
			break
		}
	}
	close(done)
	wg.Wait()
	checkConsecutive(t, s, "Patient", "a", rounds)
}

// readUntil reads b, then a, then a history page, until done is closed,
// reporting with t.Error (it runs on its own goroutine).
func readUntil(t *testing.T, s karte.Store, done <-chan struct{}) {
	ctx := t.Context()
	var last int64
	for {
		select {
		case <-done:
			return
		default:
		}
		b, err := s.Read(ctx, "Patient", "b")
		if err != nil {
			t.Errorf("read b during writes: %v", err)
			return
		}
		a, err := s.Read(ctx, "Patient", "a")
		if err != nil {
			t.Errorf("read a during writes: %v", err)
			return
		}
		if a.VersionID < b.VersionID || a.VersionID < last ||
			!bytes.Equal(a.Body, body("Patient", "a", a.VersionID, at(int(a.VersionID)))) {
			t.Errorf("read during writes: a at version %d after b at %d and a at %d before, body %q",
				a.VersionID, b.VersionID, last, a.Body)
			return
		}
		last = a.VersionID
		p, err := s.History(ctx, karte.HistoryQuery{Type: "Patient", ID: "a", Count: 3})
		if err != nil {
			t.Errorf("history during writes: %v", err)
			return
		}
		if len(p.Versions) == 0 || int64(p.Total) != p.Versions[0].VersionID ||
			!slices.IsSortedFunc(p.Versions, func(x, y *karte.Resource) int { return int(y.Seq - x.Seq) }) {
			t.Errorf("history during writes: page %v, Total %d", names(p.Versions), p.Total)
			return
		}
	}
}
