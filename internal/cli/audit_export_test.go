package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/cli"
	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
)

// auditData returns a data directory whose database holds records 1 to 60
// of audittest.SearchEvent.
func auditData(t *testing.T) (string, []karte.AuditRecord) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	audittest.WriteKey(t, dir)
	return dir, audittest.BuildSearch(t, st, 60)
}

// exported reads an NDJSON export and returns the ids, checking each line
// against the stored record.
func exported(t *testing.T, data []byte, recs []karte.AuditRecord) []int64 {
	t.Helper()
	var ids []int64
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		obj, err := fhir.ParseObject(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d is no JSON object: %v\n%s", len(ids)+1, err, sc.Bytes())
		}
		if issues := fhir.Validate(obj); issues != nil {
			t.Fatalf("line %d is no valid AuditEvent: %+v", len(ids)+1, issues)
		}
		id, err := strconv.ParseInt(obj.String("id"), 10, 64)
		if err != nil || id < 1 || id > int64(len(recs)) {
			t.Fatalf("line %d: id %q", len(ids)+1, obj.String("id"))
		}
		obj.Delete("id")
		obj.Delete("meta")
		if stored, _ := fhir.ParseObject(recs[id-1].Event); !fhir.Equal(obj, stored) {
			t.Fatalf("line %d is not record %d", len(ids)+1, id)
		}
		ids = append(ids, id)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatal("the export does not end with a newline")
	}
	return ids
}

func TestAuditExport(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	t.Setenv("KARTEHUB_DATABASE", "")
	dir, recs := auditData(t)
	out := filepath.Join(t.TempDir(), "audit.ndjson")

	// Everything, with progress every 25 records.
	var stdout, stderr bytes.Buffer
	if err := cli.Run(t.Context(), []string{"audit", "export", "--data", dir, "--out", out, "--progress", "25"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var all []int64
	for i := range int64(60) {
		all = append(all, i+1)
	}
	if got := exported(t, data, recs); !slices.Equal(got, all) {
		t.Fatalf("exported %v", got)
	}
	wantLog := "exported 25 audit events, up to record 25 of 60\n" +
		"exported 50 audit events, up to record 50 of 60\n" +
		"exported 60 audit events to " + out + ": records 1 to 60 of 60\n"
	if stdout.Len() != 0 || stderr.String() != wantLog {
		t.Fatalf("stdout %q, stderr:\n%s\nwant:\n%s", stdout.String(), stderr.String(), wantLog)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the export's mode: %v %v", fi.Mode(), err)
	}

	// Again, selected, over the same file: replaced whole, nothing left
	// beside it.
	stderr.Reset()
	err = cli.Run(t.Context(), []string{"audit", "export", "--data", dir, "--out", out,
		"--since", "2026-11-01T10:00:00Z", "--until", "2026-11-02T00:00:00Z",
		"--patient", "Patient/p1", "--patient", "p2", "--query", "outcome=0"}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(out)
	var want []int64
	for i := 10; i < 24; i++ { // hours 10 to 23
		e := audittest.SearchEvent(i)
		if i != 20 && (slices.Contains(e.Patients, "Patient/p1") || slices.Contains(e.Patients, "Patient/p2")) && e.Outcome == 0 {
			want = append(want, int64(i))
		}
	}
	if got := exported(t, data, recs); !slices.Equal(got, want) {
		t.Fatalf("exported %v, want %v", got, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Fatalf("beside the export: %v", entries)
	}

	// To standard output, by agent.
	stdout.Reset()
	if err := cli.Run(t.Context(), []string{"audit", "export", "--data", dir, "--agent", "suzuki", "--progress", "0"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if got := exported(t, stdout.Bytes(), recs); len(got) != 20 || got[0] != 3 || got[19] != 60 {
		t.Fatalf("--agent suzuki: %v", got)
	}

	// Nothing matches: an empty file.
	if err := cli.Run(t.Context(), []string{"audit", "export", "--data", dir, "--out", out, "--patient", "Patient/none"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(out); len(data) != 0 {
		t.Fatalf("an export of nothing holds %q", data)
	}

	// Mistakes are refused before anything is written.
	for _, args := range [][]string{
		{"--since", "yesterday"},
		{"--query", "name=x"},
		{"--query", "_count=5"},
		{"--patient", "Observation/1"},
		{"extra"},
	} {
		args = append([]string{"audit", "export", "--data", dir, "--out", out}, args...)
		if err := cli.Run(t.Context(), args, &stdout, &stderr); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if err := cli.Run(t.Context(), []string{"audit", "export", "--data", t.TempDir()}, &stdout, &stderr); err == nil ||
		!strings.Contains(err.Error(), "no kartehub database") {
		t.Errorf("export of an empty directory: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Fatalf("beside the export: %v", entries)
	}
}

// TestAuditExportCancelled: an export that does not finish leaves the
// previous file as it was, and no temporary file.
func TestAuditExportCancelled(t *testing.T) {
	dir, _ := auditData(t)
	out := filepath.Join(t.TempDir(), "audit.ndjson")
	if err := os.WriteFile(out, []byte("previous\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr bytes.Buffer
	if err := cli.Run(ctx, []string{"audit", "export", "--data", dir, "--out", out}, &stdout, &stderr); err == nil {
		t.Fatal("a cancelled export succeeded")
	}
	if data, _ := os.ReadFile(out); string(data) != "previous\n" {
		t.Fatalf("the previous export became %q", data)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Fatalf("beside the export: %v", entries)
	}
}

// TestAuditExportPostgres exports from a PostgreSQL database.
func TestAuditExportPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	recs := audittest.BuildSearch(t, st, 60)
	st.Close()
	dir := t.TempDir()
	audittest.WriteKey(t, dir)
	var stdout, stderr bytes.Buffer
	if err := cli.Run(t.Context(), []string{"audit", "export", "--database", dsn, "--data", dir, "--patient", "Patient/p3", "--query", "action=R"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var want []int64
	for i := 1; i <= 60; i++ {
		e := audittest.SearchEvent(i)
		if slices.Contains(e.Patients, "Patient/p3") && (e.Interaction == "read" || e.Interaction == "vread") {
			want = append(want, int64(i))
		}
	}
	if got := exported(t, stdout.Bytes(), recs); !slices.Equal(got, want) {
		t.Fatalf("exported %v, want %v", got, want)
	}
}
