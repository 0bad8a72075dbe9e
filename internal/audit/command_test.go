package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
)

// TestVerifyCommand runs "kartehub audit verify" as a process on a data
// directory, intact and then tampered with, and checks its exit status
// and message.
func TestVerifyCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kartehub; skipped in -short mode")
	}
	bin := build(t)
	data := t.TempDir()
	db := filepath.Join(data, "kartehub.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	writeLog(t, st, data, 25)
	st.Close()

	code, out := run(t, bin, "audit", "verify", "--data", data)
	intact := regexp.MustCompile(`^audit trail intact: 26 records, 1 checkpoints, last seq 26 at 2026-04-01T09:00:00Z\n$`)
	if code != 0 || !intact.MatchString(out) {
		t.Fatalf("verify of an intact trail: exit %d, output:\n%s", code, out)
	}
	t.Logf("intact: exit %d\n%s", code, out)

	// Tamper with record 7, inside block 6-10, behind kartehub's back.
	block := auditblock.Block{FirstSeq: 6, Data: blockData(t, db, 6)}
	plain, err := block.Plain()
	if err != nil {
		t.Fatal(err)
	}
	tamperSQLite(t, db, `DROP TRIGGER audit_block_no_update`)
	tamperSQLite(t, db, `UPDATE audit_block SET data = ? WHERE first_seq = 6`, auditblock.Compress(bytes.Replace(plain, []byte("Patient/p7"), []byte("Patient/p8"), 1)))
	code, out = run(t, bin, "audit", "verify", "--data", data)
	if code == 0 || !strings.HasPrefix(out, "audit trail BROKEN at record 7: content altered") {
		t.Fatalf("verify of a tampered trail: exit %d, output:\n%s", code, out)
	}
	t.Logf("tampered: exit %d\n%s", code, out)

	// No database, or no public key: a clear error, not an empty trail.
	if code, out = run(t, bin, "audit", "verify", "--data", t.TempDir()); code == 0 || !strings.Contains(out, "public key") {
		t.Fatalf("verify without a key: exit %d, output:\n%s", code, out)
	}
	if code, out = run(t, bin, "audit", "verify", "--data", data, "--key", filepath.Join(t.TempDir(), "none.pub")); code == 0 {
		t.Fatalf("verify with a missing --key file: exit %d, output:\n%s", code, out)
	}
}

// TestVerifyCommandIndex: verify reports index entries removed to hide a
// record from searches, and notes records written before the index.
func TestVerifyCommandIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kartehub; skipped in -short mode")
	}
	bin := build(t)
	data := t.TempDir()
	db := filepath.Join(data, "kartehub.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	recs := writeLog(t, st, data, 10)
	st.Close()
	// The records of block 1-5 as kartehub before schema version 6 left
	// them: without index entries.
	old := slices.Clone(recs[:5])
	for i := range old {
		old[i].Index = nil
	}
	b := auditblock.Encode(old)
	tamperSQLite(t, db, `DROP TRIGGER audit_block_no_update`)
	tamperSQLite(t, db, `UPDATE audit_block SET idx = ? WHERE first_seq = 1`, b.Index)
	code, out := run(t, bin, "audit", "verify", "--data", data)
	if code != 0 || !strings.Contains(out, "\nnote: records 1 to 5 have no search index") {
		t.Fatalf("verify of a trail indexed from record 6: exit %d, output:\n%s", code, out)
	}
	// Record 7's patient, taken out of its block's index.
	hidden := slices.Clone(recs[5:10])
	hidden[1].Index = slices.DeleteFunc(slices.Clone(hidden[1].Index), func(e karte.AuditIndexEntry) bool { return e.Name == audit.IndexPatient })
	b = auditblock.Encode(hidden)
	tamperSQLite(t, db, `UPDATE audit_block SET idx = ? WHERE first_seq = 6`, b.Index)
	code, out = run(t, bin, "audit", "verify", "--data", data)
	if code == 0 || !strings.HasPrefix(out, "audit trail BROKEN at record 7: its search index does not match its event (missing patient=Patient/p7)") {
		t.Fatalf("verify of a trail with index entries removed: exit %d, output:\n%s", code, out)
	}
	t.Logf("index entries removed: exit %d\n%s", code, out)
}

// TestVerifyCommandPostgres runs "kartehub audit verify --database" on a
// PostgreSQL database, with the key in the data directory.
func TestVerifyCommandPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kartehub; skipped in -short mode")
	}
	dsn := pgtest.NewDatabase(t)
	bin := build(t)
	data := t.TempDir()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	writeLog(t, st, data, 25)
	st.Close()
	code, out := run(t, bin, "audit", "verify", "--database", dsn, "--data", data)
	if code != 0 || !strings.HasPrefix(out, "audit trail intact: 26 records, 1 checkpoints, last seq 26 at ") {
		t.Fatalf("verify of an intact trail: exit %d, output:\n%s", code, out)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`ALTER TABLE audit_block DISABLE TRIGGER USER`, `DELETE FROM audit_block WHERE first_seq = 6`} {
		if _, err := conn.Exec(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	conn.Close(t.Context())
	code, out = run(t, bin, "audit", "verify", "--database", dsn, "--data", data)
	if code == 0 || !strings.HasPrefix(out, "audit trail BROKEN at record 6: records 6 to 10 are missing (deleted)") {
		t.Fatalf("verify of a tampered trail: exit %d, output:\n%s", code, out)
	}
}

// build compiles kartehub, once for all the tests of the process.
func build(t *testing.T) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// buildDir holds the binary; TestMain removes it.
var buildDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "kartehub-audit-test-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin := filepath.Join(dir, "kartehub")
	if out, err := exec.Command("go", "build", "-o", bin, "kartehub/cmd/kartehub").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// writeLog records n events and a final checkpoint in log, as a server
// would, with the key created in the data directory, but in appends of
// audittest.BlockSize records (blocks 1-5, 6-10, ...), and returns them.
func writeLog(t *testing.T, log karte.AuditLog, data string, n int) []karte.AuditRecord {
	t.Helper()
	chain, err := audit.OpenChain(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	clock := audittest.Clock()
	var recs []karte.AuditRecord
	var last *karte.AuditRecord
	for i := 1; i <= n+1; i++ {
		e := audittest.Event(i)
		if i > n {
			e = &audit.Event{Type: audit.ApplicationStop}
		}
		at := clock()
		event, err := e.JSON(at, audit.Source{})
		if err != nil {
			t.Fatal(err)
		}
		r := chain.Next(last, at, event, i > n)
		if r.Index, err = audit.Index(event); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		last = &recs[len(recs)-1]
	}
	for from := 0; from < len(recs); from += audittest.BlockSize {
		if err := log.AppendAudit(t.Context(), recs[from:min(from+audittest.BlockSize, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

// blockData returns the data of block first of the audit trail of the
// SQLite database db.
func blockData(t *testing.T, db string, first int64) []byte {
	t.Helper()
	conn, err := sqlite3.Open(sqlite.AuditPath(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, _, err := conn.Prepare(`SELECT data FROM audit_block WHERE first_seq = ?`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.BindInt64(1, first)
	if !st.Step() {
		t.Fatalf("no block %d: %v", first, st.Err())
	}
	return st.ColumnBlob(0, nil)
}

// tamperSQLite runs stmt on the audit trail of the SQLite database db
// behind kartehub's back.
func tamperSQLite(t *testing.T, db, stmt string, args ...[]byte) {
	t.Helper()
	conn, err := sqlite3.Open(sqlite.AuditPath(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, _, err := conn.Prepare(stmt)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	defer st.Close()
	for i, a := range args {
		st.BindBlob(i+1, a)
	}
	if err := st.Exec(); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// run runs the binary and returns its exit code and its output (stdout,
// then stderr).
func run(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String() + stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String() + stderr.String()
}
