package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"kartehub/internal/karte"
)

// testReopen: what a Write acknowledged is there after Close and reopen:
// versions, deletions, identifiers, history; and Seq keeps growing.
func testReopen(t *testing.T, open opener) {
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	a1, a2 := version("Patient", "a", 1, at(0)), version("Patient", "a", 2, at(1))
	b1, b2 := version("Patient", "b", 1, at(2)), deletion("Patient", "b", 2, at(3))
	put(t, s, a1, ident(sysA, "a"))
	put(t, s, a2, ident(sysA, "a"))
	put(t, s, b1, ident(sysA, "b"))
	put(t, s, b2)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s = openStore(t, open)
	checkResource(t, read(t, s, "Patient", "a"), a2)
	got, err := s.VRead(t.Context(), "Patient", "a", 1)
	if err != nil {
		t.Fatalf("vread after reopen: %v", err)
	}
	checkResource(t, got, a1)
	got, err = s.Read(t.Context(), "Patient", "b")
	wantKind(t, "read of the deleted resource after reopen", err, karte.Gone)
	checkResource(t, got, b2)
	if ids := find(t, s, "Patient", ident(sysA, "a")); !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("find after reopen: %v, want [a]", ids)
	}
	if ids := find(t, s, "Patient", ident(sysA, "b")); len(ids) != 0 {
		t.Fatalf("find of the deleted resource's identifier after reopen: %v, want none", ids)
	}
	if p := history(t, s, karte.HistoryQuery{Count: 10}); p.Total != 4 {
		t.Fatalf("history after reopen: Total %d, want 4", p.Total)
	}
	a3 := version("Patient", "a", 3, at(4))
	put(t, s, a3)
	if a3.Seq <= b2.Seq {
		t.Fatalf("Seq %d after reopen is not above %d from before", a3.Seq, b2.Seq)
	}
}

// testCloseFinishesWrites: Close lets a Write in flight finish and commit.
func testCloseFinishesWrites(t *testing.T, open opener) {
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r := version("Patient", "p1", 1, at(0))
	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	writeErr := make(chan error, 1)
	go func() {
		writeErr <- s.Write(t.Context(), func(tx karte.Tx) error {
			if err := tx.Put(t.Context(), r, &karte.Index{}); err != nil {
				return err
			}
			once.Do(func() { close(inside) })
			<-release
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-writeErr:
		t.Fatalf("write: %v", err)
	}
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	time.Sleep(20 * time.Millisecond) // let Close begin while the write is in flight
	close(release)
	if err := <-writeErr; err != nil {
		t.Fatalf("write in flight during Close: %v", err)
	}
	if err := <-closeErr; err != nil {
		t.Fatalf("close: %v", err)
	}
	checkResource(t, read(t, openStore(t, open), "Patient", "p1"), r)
}
