package fhirimport_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kartehub/internal/fhirimport"
	"kartehub/internal/karte"
	"kartehub/internal/record"
	"kartehub/internal/server/servertest"
)

// exists reports whether typ/id is stored and not deleted.
func exists(tb testing.TB, st karte.Store, typ, id string) bool {
	tb.Helper()
	_, err := st.Read(context.Background(), typ, id)
	if err != nil && !karte.IsKind(err, karte.NotFound) {
		tb.Fatalf("read %s/%s: %v", typ, id, err)
	}
	return err == nil
}

// wantStored fails the test for each "Type/id" that is not stored.
func wantStored(t *testing.T, st karte.Store, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		typ, id, _ := strings.Cut(ref, "/")
		if !exists(t, st, typ, id) {
			t.Errorf("%s is not stored", ref)
		}
	}
}

// wantAbsent fails the test for each "Type/id" that is stored.
func wantAbsent(t *testing.T, st karte.Store, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		typ, id, _ := strings.Cut(ref, "/")
		if exists(t, st, typ, id) {
			t.Errorf("%s is stored, want nothing", ref)
		}
	}
}

// failureAt returns the failure of file base at where, or fails the test.
func failureAt(t *testing.T, sum *fhirimport.Summary, base, where string) fhirimport.Failure {
	t.Helper()
	for _, f := range sum.Failures {
		if filepath.Base(f.File) == base && f.Where == where {
			return f
		}
	}
	t.Fatalf("no failure of %s at %q:%s", base, where, failures(sum))
	return fhirimport.Failure{}
}

func TestNDJSON(t *testing.T) {
	st := openStore(t)
	sum := run(t, st, "testdata/ndjson/mixed.ndjson")
	if sum.Files != 1 || sum.Resources != 4 || len(sum.Failures) != 2 {
		t.Fatalf("summary %v, want 4 resources from 1 file, 2 failed:%s", sum, failures(sum))
	}
	bad := failureAt(t, sum, "mixed.ndjson", "line 4").String()
	if !strings.Contains(bad, "column 73") || strings.Count(bad, "line ") != 1 {
		t.Errorf("line 4 (bad JSON): %q, want the line and the column (73) named once", bad)
	}
	unknown := failureAt(t, sum, "mixed.ndjson", "line 5")
	if msg := unknown.String(); !strings.Contains(msg, "favouriteColour") || strings.Contains(msg, "Bundle.entry") {
		t.Errorf("line 5 (unknown element): %q, want the element named, and no entry of a chunk", msg)
	}
	if !karte.IsKind(unknown.Err, karte.Unprocessable) {
		t.Errorf("line 5: kind %v, want Unprocessable", karte.KindOf(unknown.Err))
	}
	wantStored(t, st, "Patient/nd-p1", "Patient/nd-p2", "Observation/nd-o7")
	wantAbsent(t, st, "Patient/nd-bad-json", "Patient/nd-p5")
	cur, total := currentVersions(t, st)
	if len(cur) != 4 || total != 4 {
		t.Errorf("store holds %d resources in %d versions, want 4 in 4: %v", len(cur), total, keys(cur))
	}

	// The line without an id gets the same content-hash id again.
	again := run(t, st, "testdata/ndjson/mixed.ndjson")
	if again.Resources != 4 || len(again.Failures) != 2 {
		t.Errorf("second import: %v", again)
	}
	if cur2, total2 := currentVersions(t, st); len(cur2) != 4 || total2 != 4 {
		t.Errorf("after a second import the store holds %d resources in %d versions, want 4 in 4: %v", len(cur2), total2, keys(cur2))
	}
}

func keys(m map[string]*karte.Resource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDirectory imports a directory tree holding a collection Bundle, a
// single resource and an NDJSON file, and skips the files of other kinds.
func TestDirectory(t *testing.T) {
	st := openStore(t)
	sum := run(t, st, "testdata/tree")
	if sum.Files != 3 || sum.Resources != 6 || len(sum.Failures) != 0 {
		t.Fatalf("summary %v, want 6 resources from 3 files, 0 failed:%s", sum, failures(sum))
	}
	wantStored(t, st,
		"Patient/6a1c2e5e-9a50-4d35-b4b2-1a0f6f9e0c01", // collection: id from the urn:uuid fullUrl
		"Observation/6a1c2e5e-9a50-4d35-b4b2-1a0f6f9e0c02",
		"Practitioner/coll-pr1", // collection: the resource's own id
		"Patient/single-p1",     // a single resource
		"Observation/deep-o1", "Observation/deep-o2",
	)
	cur, _ := currentVersions(t, st)
	if n := checkReferences(t, st, cur); n != 4 {
		t.Errorf("checked %d references, want 4", n)
	}
	obs := cur["Observation/6a1c2e5e-9a50-4d35-b4b2-1a0f6f9e0c02"]
	if obs == nil || !bytes.Contains(obs.Body, []byte(`"reference":"Patient/6a1c2e5e-9a50-4d35-b4b2-1a0f6f9e0c01"`)) {
		t.Errorf("collection Observation: subject not resolved to the Patient: %s", obs.Body)
	}
}

// TestFiles imports single files of each kind given by name.
func TestFiles(t *testing.T) {
	st := openStore(t)
	sum := run(t, st, "testdata/tree/collection.json", "testdata/tree/sub/patient.json")
	if sum.Files != 2 || sum.Resources != 4 || len(sum.Failures) != 0 {
		t.Fatalf("summary %v, want 4 resources from 2 files, 0 failed:%s", sum, failures(sum))
	}
	wantStored(t, st, "Patient/single-p1", "Practitioner/coll-pr1")
	wantAbsent(t, st, "Observation/deep-o1")
}

func TestPathErrors(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"Missing", []string{"testdata/tree", "testdata/no-such-file.json"}, "no-such-file.json"},
		{"NotData", []string{"testdata/tree", "testdata/notes.txt"}, "not a .json or .ndjson file"},
		{"NoData", []string{empty}, "no .json or .ndjson files"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			im := &fhirimport.Importer{Sink: record.New(st)}
			sum, err := im.Run(context.Background(), tt.paths)
			if err == nil {
				t.Fatalf("no error, summary %v", sum)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			// Nothing is loaded when a path is wrong, not even the good one.
			wantAbsent(t, st, "Patient/single-p1")
		})
	}
}

// TestTransactionInvalidEntry checks that a transaction with one bad entry
// stores nothing and names the entry.
func TestTransactionInvalidEntry(t *testing.T) {
	st := openStore(t)
	sum := run(t, st, "testdata/invalid/transaction.json", "testdata/tree/sub/patient.json")
	if sum.Resources != 1 || len(sum.Failures) != 1 {
		t.Fatalf("summary %v, want 1 resource (the other file), 1 failed:%s", sum, failures(sum))
	}
	f := sum.Failures[0]
	if filepath.Base(f.File) != "transaction.json" || !strings.HasPrefix(f.Where, "entry 2") {
		t.Errorf("failure %v, want transaction.json at entry 2", f)
	}
	if msg := f.String(); !strings.Contains(msg, "valueQuantity.value") || !strings.Contains(msg, "expected a JSON number") {
		t.Errorf("failure %q does not name the bad element and what is wrong", msg)
	}
	wantAbsent(t, st,
		"Patient/5d0c9b1e-7c55-4b7a-8f3e-2e6a4c1d9b01",
		"Observation/5d0c9b1e-7c55-4b7a-8f3e-2e6a4c1d9b02",
		"Observation/5d0c9b1e-7c55-4b7a-8f3e-2e6a4c1d9b03")
	wantStored(t, st, "Patient/single-p1")
}

// TestCrossFileReferences loads a transaction whose references point at
// urn:uuid fullUrls of another file: resolved when both files are in the
// run, reported as a failure (and nothing stored) when the other file is
// not.
func TestCrossFileReferences(t *testing.T) {
	patient := "Patient/0b7e3a52-1f4c-4c3e-9d0a-5c2b8f1e7a01"
	obs := "Observation/0b7e3a52-1f4c-4c3e-9d0a-5c2b8f1e7a11"
	enc := "Encounter/0b7e3a52-1f4c-4c3e-9d0a-5c2b8f1e7a12"

	t.Run("SameRun", func(t *testing.T) {
		st := openStore(t)
		sum := run(t, st, "testdata/cross")
		if sum.Resources != 4 || len(sum.Failures) != 0 {
			t.Fatalf("summary %v, want 4 resources, 0 failed:%s", sum, failures(sum))
		}
		wantStored(t, st, patient, obs, enc)
		cur, _ := currentVersions(t, st)
		if n := checkReferences(t, st, cur); n != 3 {
			t.Errorf("checked %d references, want 3", n)
		}
	})

	t.Run("ReferencedFileLater", func(t *testing.T) {
		st := openStore(t)
		sum := run(t, st, "testdata/cross/observations.json")
		if sum.Resources != 0 || len(sum.Failures) != 1 {
			t.Fatalf("summary %v, want 0 resources, 1 failed:%s", sum, failures(sum))
		}
		f := sum.Failures[0]
		if msg := f.String(); !strings.HasPrefix(f.Where, "entry ") || !strings.Contains(msg, "urn:uuid:0b7e3a52-1f4c-4c3e-9d0a-5c2b8f1e7a0") ||
			!strings.Contains(msg, "does not resolve") {
			t.Errorf("failure %q does not name the entry and the unresolved reference", f)
		}
		t.Logf("reported as: %v", f)
		wantAbsent(t, st, obs, enc)

		// A urn:uuid reference only resolves within one run: loading the
		// referenced file first and this one on its own later fails again,
		// and loading both together works.
		if sum := run(t, st, "testdata/cross/patients.json"); len(sum.Failures) != 0 {
			t.Fatalf("patients: %v:%s", sum, failures(sum))
		}
		if sum := run(t, st, "testdata/cross/observations.json"); len(sum.Failures) != 1 {
			t.Errorf("observations after patients: %v, want 1 failed:%s", sum, failures(sum))
		}
		wantAbsent(t, st, obs, enc)
		if sum := run(t, st, "testdata/cross"); sum.Resources != 4 || len(sum.Failures) != 0 {
			t.Errorf("both files again: %v, want 4 resources, 0 failed:%s", sum, failures(sum))
		}
		wantStored(t, st, patient, obs, enc)
	})
}

// TestRemote imports through the FHIR API of a server.
func TestRemote(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	token := env.ClientToken(t, "system/*.cu", []string{karte.RolePhysician, karte.RoleAdministrator})
	im := &fhirimport.Importer{Sink: &fhirimport.Remote{Base: env.Base,
		Token: func(context.Context) (string, error) { return token, nil }}}
	sum, err := im.Run(context.Background(), []string{
		"testdata/tree", "testdata/cross", "testdata/invalid/transaction.json", "testdata/ndjson/mixed.ndjson"})
	if err != nil {
		t.Fatal(err)
	}
	// tree 6 + cross 4 + ndjson 4; the transaction and 2 NDJSON lines fail.
	if sum.Files != 7 || sum.Resources != 14 || len(sum.Failures) != 3 {
		t.Fatalf("summary %v, want 14 resources from 7 files, 3 failed:%s", sum, failures(sum))
	}
	wantStored(t, st,
		"Observation/6a1c2e5e-9a50-4d35-b4b2-1a0f6f9e0c02", "Patient/single-p1", "Observation/deep-o2",
		"Patient/0b7e3a52-1f4c-4c3e-9d0a-5c2b8f1e7a01", "Encounter/0b7e3a52-1f4c-4c3e-9d0a-5c2b8f1e7a12",
		"Patient/nd-p1", "Observation/nd-o7")
	wantAbsent(t, st, "Patient/5d0c9b1e-7c55-4b7a-8f3e-2e6a4c1d9b01", "Patient/nd-p5")
	cur, _ := currentVersions(t, st)
	checkReferences(t, st, cur)

	tx := failureAt(t, sum, "transaction.json", "entry 2 (transaction rolled back)")
	if msg := tx.String(); !strings.Contains(msg, "server answered 422") || !strings.Contains(msg, "valueQuantity.value: expected a JSON number") {
		t.Errorf("transaction failure %q lacks the server's status and diagnostics", msg)
	}
	line := failureAt(t, sum, "mixed.ndjson", "line 5")
	if msg := line.String(); !strings.Contains(msg, "server answered 422") || !strings.Contains(msg, `unknown element "favouriteColour"`) {
		t.Errorf("NDJSON failure %q lacks the server's status and diagnostics", msg)
	}
	for _, f := range sum.Failures {
		t.Logf("reported: %v", f)
	}
}

// progressLine is the shape of one progress line.
var progressLine = regexp.MustCompile(`^\[[= ]{30}\] (\d+)/(\d+) resources +(\d+)% +\d+/s$`)

func TestProgress(t *testing.T) {
	st := openStore(t)
	var buf bytes.Buffer
	im := &fhirimport.Importer{Sink: record.New(st), Progress: &buf}
	// 6 resources in the tree, 5 parsed NDJSON lines of which one fails.
	if _, err := im.Run(context.Background(), []string{"testdata/tree", "testdata/ndjson"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("non-interactive progress redraws with \\r: %q", buf.String())
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	m := progressLine.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last progress line %q is not of the form %v (all: %q)", last, progressLine, buf.String())
	}
	if m[1] != "11" || m[2] != "11" || m[3] != "100" {
		t.Errorf("last progress line %q, want 11/11 resources 100%%", last)
	}
}
