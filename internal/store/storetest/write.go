package storetest

import (
	"errors"
	"slices"
	"testing"

	"kartehub/internal/karte"
)

// testFnErrorKeepsNothing: when fn fails after several Puts (new resources,
// updates, a deletion, index changes), Write returns fn's error and none of
// it is kept, not even the versions' numbers.
func testFnErrorKeepsNothing(t *testing.T, open opener) {
	s := openStore(t, open)
	c1 := version("Patient", "c", 1, at(0))
	put(t, s, c1, ident(sysA, "c"))

	abandon := errors.New("storetest: abandon the write")
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		for _, p := range []struct {
			r  *karte.Resource
			ix *karte.Index
		}{
			{version("Patient", "a", 1, at(1)), &karte.Index{Identifiers: []karte.Identifier{ident(sysA, "a")}}},
			{version("Observation", "b", 1, at(1)), &karte.Index{Identifiers: []karte.Identifier{ident(sysA, "b")}}},
			{version("Patient", "a", 2, at(2)), &karte.Index{Identifiers: []karte.Identifier{ident(sysA, "a2")}}},
			{deletion("Patient", "c", 2, at(2)), nil},
		} {
			if err := tx.Put(t.Context(), p.r, p.ix); err != nil {
				return err
			}
		}
		return abandon
	})
	if !errors.Is(err, abandon) {
		t.Fatalf("Write returned %v, want fn's error", err)
	}

	_, err = s.Read(t.Context(), "Patient", "a")
	wantKind(t, "read of a resource created by the failed write", err, karte.NotFound)
	_, err = s.Read(t.Context(), "Observation", "b")
	wantKind(t, "read of a resource created by the failed write", err, karte.NotFound)
	checkResource(t, read(t, s, "Patient", "c"), c1)
	for _, v := range []string{"a", "a2"} {
		if ids := find(t, s, "Patient", ident(sysA, v)); len(ids) != 0 {
			t.Fatalf("identifier %q of the failed write found on %v", v, ids)
		}
	}
	if ids := find(t, s, "Patient", ident(sysA, "c")); !slices.Equal(ids, []string{"c"}) {
		t.Fatalf("identifier of Patient/c: found %v, want [c]: the failed deletion must not drop it", ids)
	}
	if p := history(t, s, karte.HistoryQuery{Count: 10}); p.Total != 1 || len(p.Versions) != 1 {
		t.Fatalf("history after the failed write: %v (Total %d), want only %s", names(p.Versions), p.Total, name(c1))
	}
	// The abandoned versions left no trace: their numbers are free again.
	put(t, s, version("Patient", "a", 1, at(3)))
	put(t, s, version("Patient", "c", 2, at(3)))
}

// testFnErrorKindReturned: Write returns fn's error as it is, so a kind
// chosen inside fn reaches the protocol edge.
func testFnErrorKindReturned(t *testing.T, open opener) {
	s := openStore(t, open)
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		if err := tx.Put(t.Context(), version("Patient", "p1", 1, at(0)), &karte.Index{}); err != nil {
			return err
		}
		return karte.Errorf(karte.PreconditionFailed, "storetest: If-Match failed")
	})
	wantKind(t, "Write whose fn failed with PreconditionFailed", err, karte.PreconditionFailed)
	_, err = s.Read(t.Context(), "Patient", "p1")
	wantKind(t, "read after the failed write", err, karte.NotFound)
}

// testAtomicAcrossResources: one Write may create and update several
// resources of several types; all are kept, each with its own Seq, growing
// in the order of the Puts.
func testAtomicAcrossResources(t *testing.T, open opener) {
	s := openStore(t, open)
	put(t, s, version("Patient", "p1", 1, at(0)))
	rs := []*karte.Resource{
		version("Patient", "p1", 2, at(1)),
		version("Observation", "o1", 1, at(1)),
		version("Patient", "p2", 1, at(1)),
		version("Patient", "p2", 2, at(1)),
	}
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		for _, r := range rs {
			if err := tx.Put(t.Context(), r, &karte.Index{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write of several resources: %v", err)
	}
	for i, r := range rs {
		if i > 0 && r.Seq <= rs[i-1].Seq {
			t.Fatalf("%s got Seq %d after %d in the same write", name(r), r.Seq, rs[i-1].Seq)
		}
		got, err := s.VRead(t.Context(), r.Type, r.ID, r.VersionID)
		if err != nil {
			t.Fatalf("vread %s: %v", name(r), err)
		}
		checkResource(t, got, r)
	}
	checkResource(t, read(t, s, "Patient", "p2"), rs[3])
}

// testTxSeesOwnWrites: inside a Write, Current, VRead and FindByIdentifier
// see what the same transaction has put.
func testTxSeesOwnWrites(t *testing.T, open opener) {
	s := openStore(t, open)
	ctx := t.Context()
	v1 := version("Patient", "p1", 1, at(0))
	v2 := version("Patient", "p1", 2, at(1))
	del := deletion("Patient", "p1", 3, at(2))
	var (
		cur1, cur2, old, cur3 *karte.Resource
		found, foundAfterDel  []string
	)
	err := s.Write(ctx, func(tx karte.Tx) (err error) {
		if err = tx.Put(ctx, v1, &karte.Index{Identifiers: []karte.Identifier{ident(sysA, "1")}}); err != nil {
			return err
		}
		if cur1, err = tx.Current(ctx, "Patient", "p1"); err != nil {
			return err
		}
		if found, err = tx.FindByIdentifier(ctx, "Patient", ident(sysA, "1")); err != nil {
			return err
		}
		if err = tx.Put(ctx, v2, &karte.Index{}); err != nil {
			return err
		}
		if cur2, err = tx.Current(ctx, "Patient", "p1"); err != nil {
			return err
		}
		if old, err = tx.VRead(ctx, "Patient", "p1", 1); err != nil {
			return err
		}
		if err = tx.Put(ctx, del, nil); err != nil {
			return err
		}
		if cur3, err = tx.Current(ctx, "Patient", "p1"); err != nil {
			return err
		}
		foundAfterDel, err = tx.FindByIdentifier(ctx, "Patient", ident(sysA, "1"))
		return err
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	checkResource(t, cur1, v1)
	checkResource(t, cur2, v2)
	checkResource(t, old, v1)
	checkResource(t, cur3, del)
	if !slices.Equal(found, []string{"p1"}) || len(foundAfterDel) != 0 {
		t.Fatalf("FindByIdentifier inside the write: %v after the create (want [p1]), %v after the deletion (want none)",
			found, foundAfterDel)
	}
	_, err = s.Read(ctx, "Patient", "p1")
	wantKind(t, "read after the write that deleted", err, karte.Gone)
}
