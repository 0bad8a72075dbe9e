package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"kartehub/internal/karte"
)

// t0 is the suite's fixed clock. Its 123 ms make a store that keeps only
// seconds fail.
var t0 = time.Date(2024, time.March, 1, 9, 30, 0, 123_000_000, time.UTC)

// at is the time i minutes after t0.
func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

// Identifier systems used across the suite.
const (
	sysA = "urn:storetest:a"
	sysB = "urn:storetest:b"
	sysC = "urn:storetest:c"
	sysD = "urn:storetest:d"
)

// ident is shorthand for an identifier.
func ident(system, value string) karte.Identifier {
	return karte.Identifier{System: system, Value: value}
}

// version builds version v of typ/id written at when, with a body that tells
// them apart, as the FHIR layer would (meta included).
func version(typ, id string, v int64, when time.Time) *karte.Resource {
	method := "PUT"
	if v == 1 {
		method = "POST"
	}
	return &karte.Resource{
		Type: typ, ID: id, VersionID: v, LastUpdated: when, Method: method,
		Body: body(typ, id, v, when),
	}
}

// deletion builds version v of typ/id that records its deletion at when.
func deletion(typ, id string, v int64, when time.Time) *karte.Resource {
	return &karte.Resource{
		Type: typ, ID: id, VersionID: v, LastUpdated: when, Method: "DELETE", Deleted: true,
	}
}

// body is the JSON that version builds.
func body(typ, id string, v int64, when time.Time) []byte {
	return fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"%d","lastUpdated":%q}}`,
		typ, id, v, when.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
}

// openStore opens a Store and closes it when the test ends.
func openStore(t *testing.T, open opener) karte.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// put writes r in a Write of its own, with idents as its index.
func put(t *testing.T, s karte.Store, r *karte.Resource, idents ...karte.Identifier) {
	t.Helper()
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		return tx.Put(t.Context(), r, &karte.Index{Identifiers: idents})
	})
	if err != nil {
		t.Fatalf("put %s: %v", name(r), err)
	}
}

// name is the FHIR-style reference of a version, for messages.
func name(r *karte.Resource) string {
	return fmt.Sprintf("%s/%s/_history/%d", r.Type, r.ID, r.VersionID)
}

// wantKind fails unless err carries kind k.
func wantKind(t *testing.T, what string, err error, k karte.Kind) {
	t.Helper()
	if !karte.IsKind(err, k) {
		t.Fatalf("%s: error %v (kind %v), want kind %v", what, err, karte.KindOf(err), k)
	}
}

// checkResource fails unless got is the version want describes. Seq is
// compared when want has one.
func checkResource(t *testing.T, got, want *karte.Resource) {
	t.Helper()
	if got == nil {
		t.Fatalf("got no resource, want %s", name(want))
	}
	var diffs []string
	if got.Type != want.Type || got.ID != want.ID || got.VersionID != want.VersionID {
		diffs = append(diffs, fmt.Sprintf("got %s", name(got)))
	}
	if !got.LastUpdated.Equal(want.LastUpdated) {
		diffs = append(diffs, fmt.Sprintf("LastUpdated %v, want %v", got.LastUpdated, want.LastUpdated))
	}
	if got.Deleted != want.Deleted {
		diffs = append(diffs, fmt.Sprintf("Deleted %v, want %v", got.Deleted, want.Deleted))
	}
	if got.Method != want.Method {
		diffs = append(diffs, fmt.Sprintf("Method %q, want %q", got.Method, want.Method))
	}
	if !bytes.Equal(got.Body, want.Body) {
		diffs = append(diffs, fmt.Sprintf("Body %.200q, want %.200q", got.Body, want.Body))
	}
	if got.Author != want.Author {
		diffs = append(diffs, fmt.Sprintf("Author %+v, want %+v", got.Author, want.Author))
	}
	if want.Seq != 0 && got.Seq != want.Seq {
		diffs = append(diffs, fmt.Sprintf("Seq %d, want %d", got.Seq, want.Seq))
	}
	if len(diffs) > 0 {
		t.Fatalf("%s: %v", name(want), diffs)
	}
}

// read reads the current version, which must exist and not be deleted.
func read(t *testing.T, s karte.Store, typ, id string) *karte.Resource {
	t.Helper()
	r, err := s.Read(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("read %s/%s: %v", typ, id, err)
	}
	return r
}

// find runs FindByIdentifier in a Write of its own and returns the ids sorted:
// the contract does not order them.
func find(t *testing.T, s karte.Store, typ string, id karte.Identifier) []string {
	t.Helper()
	var ids []string
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		var err error
		ids, err = tx.FindByIdentifier(t.Context(), typ, id)
		return err
	})
	if err != nil {
		t.Fatalf("find %s %s|%s: %v", typ, id.System, id.Value, err)
	}
	slices.Sort(ids)
	return ids
}

// history runs q and fails on error.
func history(t *testing.T, s karte.Store, q karte.HistoryQuery) *karte.HistoryPage {
	t.Helper()
	p, err := s.History(t.Context(), q)
	if err != nil {
		t.Fatalf("history %+v: %v", q, err)
	}
	return p
}

// names lists the versions of a page as references, for comparisons.
func names(rs []*karte.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = name(r)
	}
	return out
}
