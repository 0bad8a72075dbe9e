package storetest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"kartehub/internal/karte"
)

// testPutRead: Put stores a version, sets Seq, and Read returns it whole.
func testPutRead(t *testing.T, open opener) {
	s := openStore(t, open)
	r := version("Patient", "p1", 1, at(0))
	put(t, s, r)
	if r.Seq <= 0 {
		t.Fatalf("Put left Seq %d, want it set (> 0)", r.Seq)
	}
	checkResource(t, read(t, s, "Patient", "p1"), r)
}

// testBodyByteForByte: bodies come back byte for byte, through Read, VRead
// and History; the store must not reformat JSON (whitespace, key order,
// escapes and number spellings are the client's).
func testBodyByteForByte(t *testing.T, open opener) {
	s := openStore(t, open)
	bodies := []string{
		`{"resourceType":"Patient","id":"b"}`,
		"{\n\t\"resourceType\" : \"Patient\",\n  \"z\":1,   \"a\":[ ],\"id\":\"b\"\n}\n",
		`{"resourceType":"Patient","name":[{"family":"Müller 山田 😀","given":["\u00e9","\"q\" \\ \/ \u0000"]}]}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1.50000000000000000001},"x":1e400,"y":-0.0}`,
		`{"resourceType":"Binary","data":"` + strings.Repeat("QUJD", 80_000) + `"}`,
	}
	var want []*karte.Resource
	for i, b := range bodies {
		r := version("Patient", "b", int64(i+1), at(i))
		r.Body = []byte(b)
		put(t, s, r)
		want = append(want, r)
	}
	checkResource(t, read(t, s, "Patient", "b"), want[len(want)-1])
	for _, w := range want {
		got, err := s.VRead(t.Context(), "Patient", "b", w.VersionID)
		if err != nil {
			t.Fatalf("vread %s: %v", name(w), err)
		}
		checkResource(t, got, w)
	}
	page := history(t, s, karte.HistoryQuery{Type: "Patient", ID: "b", Count: 10})
	for i, got := range page.Versions {
		if !bytes.Equal(got.Body, want[len(want)-1-i].Body) {
			t.Fatalf("history body of %s differs from what was put", name(got))
		}
	}
}

// testLastUpdatedMillis: LastUpdated round-trips at millisecond precision,
// whatever the location of the time given.
func testLastUpdatedMillis(t *testing.T, open opener) {
	s := openStore(t, open)
	times := []time.Time{
		t0,
		time.Date(2024, time.January, 1, 0, 0, 0, 999_000_000, time.FixedZone("CET", 3600)),
		time.Date(2099, time.December, 31, 23, 59, 59, 1_000_000, time.UTC),
		time.UnixMilli(1),
	}
	for i, when := range times {
		r := version("Patient", string(rune('a'+i)), 1, when)
		put(t, s, r)
		checkResource(t, read(t, s, "Patient", r.ID), r)
	}
}

// testVersions: each Put adds a version; Read gives the newest and VRead
// any of them.
func testVersions(t *testing.T, open opener) {
	s := openStore(t, open)
	var want []*karte.Resource
	for v := int64(1); v <= 3; v++ {
		r := version("Patient", "p1", v, at(int(v)))
		put(t, s, r)
		want = append(want, r)
	}
	checkResource(t, read(t, s, "Patient", "p1"), want[2])
	for _, w := range want {
		got, err := s.VRead(t.Context(), "Patient", "p1", w.VersionID)
		if err != nil {
			t.Fatalf("vread %s: %v", name(w), err)
		}
		checkResource(t, got, w)
	}
	for _, v := range []int64{0, -1, 4} {
		_, err := s.VRead(t.Context(), "Patient", "p1", v)
		wantKind(t, "vread of a version never written", err, karte.NotFound)
	}
}

// testSeqGrows: Seq grows with every write, across resources and types, and
// Read returns the Seq that Put set.
func testSeqGrows(t *testing.T, open opener) {
	s := openStore(t, open)
	rs := []*karte.Resource{
		version("Patient", "p1", 1, at(0)),
		version("Observation", "o1", 1, at(1)),
		version("Patient", "p2", 1, at(2)),
		version("Patient", "p1", 2, at(3)),
		deletion("Patient", "p2", 2, at(4)),
	}
	var last int64
	for _, r := range rs {
		put(t, s, r)
		if r.Seq <= last {
			t.Fatalf("%s got Seq %d after %d: Seq must grow with every write", name(r), r.Seq, last)
		}
		last = r.Seq
	}
	if got := read(t, s, "Patient", "p1"); got.Seq != rs[3].Seq {
		t.Fatalf("read Patient/p1: Seq %d, Put set %d", got.Seq, rs[3].Seq)
	}
}

// putErr runs one Put in a Write and returns both Put's error and Write's,
// which must be the same since fn returns it.
func putErr(t *testing.T, s karte.Store, r *karte.Resource) error {
	t.Helper()
	var perr error
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		perr = tx.Put(t.Context(), r, &karte.Index{})
		return perr
	})
	if (err == nil) != (perr == nil) {
		t.Fatalf("put %s: Put returned %v but Write %v", name(r), perr, err)
	}
	return err
}

// testConflictSkippingAhead: a VersionID beyond current+1 (or beyond 1 for a
// new resource) is a Conflict and changes nothing.
func testConflictSkippingAhead(t *testing.T, open opener) {
	s := openStore(t, open)
	wantKind(t, "new resource at version 2", putErr(t, s, version("Patient", "p1", 2, at(0))), karte.Conflict)
	_, err := s.Read(t.Context(), "Patient", "p1")
	wantKind(t, "read after the refused create", err, karte.NotFound)

	v1 := version("Patient", "p1", 1, at(1))
	put(t, s, v1)
	wantKind(t, "version 3 over version 1", putErr(t, s, version("Patient", "p1", 3, at(2))), karte.Conflict)
	checkResource(t, read(t, s, "Patient", "p1"), v1)
}

// testConflictReusingVersion: a VersionID at or below the current one, or
// below 1, is a Conflict and changes nothing; after a deletion the deletion's
// version counts as current.
func testConflictReusingVersion(t *testing.T, open opener) {
	s := openStore(t, open)
	wantKind(t, "new resource at version 0", putErr(t, s, version("Patient", "p1", 0, at(0))), karte.Conflict)
	v1 := version("Patient", "p1", 1, at(1))
	put(t, s, v1)
	wantKind(t, "version 1 again", putErr(t, s, version("Patient", "p1", 1, at(2))), karte.Conflict)
	checkResource(t, read(t, s, "Patient", "p1"), v1)

	put(t, s, version("Patient", "p1", 2, at(3)))
	put(t, s, deletion("Patient", "p1", 3, at(4)))
	for _, v := range []int64{1, 2, 3} {
		wantKind(t, "reused version after deletion", putErr(t, s, version("Patient", "p1", v, at(5))), karte.Conflict)
	}
	_, err := s.Read(t.Context(), "Patient", "p1")
	wantKind(t, "read of the still deleted resource", err, karte.Gone)
}

// testDelete: a deletion version makes Read return it with Gone; VRead of
// the deletion is Gone, of older versions fine; Current returns it without
// error, Deleted set.
func testDelete(t *testing.T, open opener) {
	s := openStore(t, open)
	v1 := version("Patient", "p1", 1, at(0))
	put(t, s, v1, ident(sysA, "1"))
	// A deletion has no body (Resource.Deleted): one passed in is not kept.
	del := deletion("Patient", "p1", 2, at(1))
	del.Body = []byte(`{"resourceType":"Patient"}`)
	if err := s.Write(t.Context(), func(tx karte.Tx) error { return tx.Put(t.Context(), del, nil) }); err != nil {
		t.Fatalf("delete with a nil index: %v", err)
	}
	del.Body = nil

	got, err := s.Read(t.Context(), "Patient", "p1")
	wantKind(t, "read of a deleted resource", err, karte.Gone)
	checkResource(t, got, del)

	got, err = s.VRead(t.Context(), "Patient", "p1", 2)
	wantKind(t, "vread of the deletion", err, karte.Gone)
	checkResource(t, got, del)

	got, err = s.VRead(t.Context(), "Patient", "p1", 1)
	if err != nil {
		t.Fatalf("vread of the version before the deletion: %v", err)
	}
	checkResource(t, got, v1)

	var cur *karte.Resource
	err = s.Write(t.Context(), func(tx karte.Tx) (err error) {
		cur, err = tx.Current(t.Context(), "Patient", "p1")
		return err
	})
	if err != nil {
		t.Fatalf("Current of a deleted resource: %v, want the deletion and no error", err)
	}
	checkResource(t, cur, del)
}

// testPutAfterDelete: a deleted resource comes back with the next version.
func testPutAfterDelete(t *testing.T, open opener) {
	s := openStore(t, open)
	put(t, s, version("Patient", "p1", 1, at(0)))
	put(t, s, deletion("Patient", "p1", 2, at(1)))
	v3 := version("Patient", "p1", 3, at(2))
	put(t, s, v3)
	checkResource(t, read(t, s, "Patient", "p1"), v3)
	_, err := s.VRead(t.Context(), "Patient", "p1", 2)
	wantKind(t, "vread of the old deletion", err, karte.Gone)
}

// testNotFound: every way of asking for what was never written is NotFound;
// types are separate namespaces of ids.
func testNotFound(t *testing.T, open opener) {
	s := openStore(t, open)
	ctx := t.Context()
	_, err := s.Read(ctx, "Patient", "none")
	wantKind(t, "read in an empty store", err, karte.NotFound)

	put(t, s, version("Patient", "p1", 1, at(0)))
	_, err = s.Read(ctx, "Patient", "none")
	wantKind(t, "read of an unknown id", err, karte.NotFound)
	_, err = s.Read(ctx, "Observation", "p1")
	wantKind(t, "read of a known id under another type", err, karte.NotFound)
	_, err = s.VRead(ctx, "Patient", "none", 1)
	wantKind(t, "vread of an unknown id", err, karte.NotFound)
	_, err = s.VRead(ctx, "Patient", "p1", 2)
	wantKind(t, "vread of a version not yet written", err, karte.NotFound)
	_, err = s.VRead(ctx, "Observation", "p1", 1)
	wantKind(t, "vread under another type", err, karte.NotFound)

	// fn only records: engines may run it on another goroutine, where
	// t.Fatal must not be called.
	var errs [3]error
	err = s.Write(ctx, func(tx karte.Tx) error {
		_, errs[0] = tx.Current(ctx, "Patient", "none")
		_, errs[1] = tx.VRead(ctx, "Patient", "none", 1)
		_, errs[2] = tx.VRead(ctx, "Patient", "p1", 2)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, "Current of an unknown id", errs[0], karte.NotFound)
	wantKind(t, "Tx.VRead of an unknown id", errs[1], karte.NotFound)
	wantKind(t, "Tx.VRead of a version not yet written", errs[2], karte.NotFound)
}

// testNilIndex states the suite's reading of a nil *Index: a version
// without index values, for deletions and other versions alike.
func testNilIndex(t *testing.T, open opener) {
	s := openStore(t, open)
	nilIndexPut := func(r *karte.Resource) {
		t.Helper()
		if err := s.Write(t.Context(), func(tx karte.Tx) error { return tx.Put(t.Context(), r, nil) }); err != nil {
			t.Fatalf("put %s with a nil index: %v", name(r), err)
		}
	}
	v1 := version("Patient", "p1", 1, at(0))
	nilIndexPut(v1)
	checkResource(t, read(t, s, "Patient", "p1"), v1)

	put(t, s, version("Patient", "p1", 2, at(1)), ident(sysA, "1"))
	nilIndexPut(version("Patient", "p1", 3, at(2)))
	if ids := find(t, s, "Patient", ident(sysA, "1")); len(ids) != 0 {
		t.Fatalf("identifier of version 2 still found after a version with a nil index: %v", ids)
	}
}

// testAuthor: each version keeps its own Author, deletions included, and
// every read of the version returns it; a version written without one
// reads back without one.
func testAuthor(t *testing.T, open opener) {
	s := openStore(t, open)
	nurse := karte.Author{Kind: karte.AuthorUser, ID: "sato", Person: "Practitioner/dr-sato", Name: "佐藤 花子", App: "bedside-app"}
	lab := karte.Author{Kind: karte.AuthorClient, ID: "lab-gateway", Name: "検査部門システム"}
	vs := []*karte.Resource{
		version("Patient", "p1", 1, at(0)),
		version("Patient", "p1", 2, at(1)),
		version("Patient", "p1", 3, at(2)),
		deletion("Patient", "p1", 4, at(3)),
	}
	vs[0].Author = karte.Author{Kind: karte.AuthorProcess, ID: "kartehub import", Name: "root"}
	vs[1].Author = nurse
	// vs[2] has no author.
	vs[3].Author = lab
	for _, v := range vs {
		put(t, s, v)
	}
	for _, v := range vs {
		got, err := s.VRead(t.Context(), "Patient", "p1", v.VersionID)
		if v.Deleted {
			wantKind(t, "vread of the deletion", err, karte.Gone)
		} else if err != nil {
			t.Fatal(err)
		}
		checkResource(t, got, v)
	}
	cur, err := s.Read(t.Context(), "Patient", "p1")
	wantKind(t, "read of the deleted resource", err, karte.Gone)
	checkResource(t, cur, vs[3])
	page := history(t, s, karte.HistoryQuery{Type: "Patient", ID: "p1"})
	if len(page.Versions) != len(vs) {
		t.Fatalf("history: %d versions, want %d", len(page.Versions), len(vs))
	}
	for i, got := range page.Versions {
		checkResource(t, got, vs[len(vs)-1-i])
	}
}
