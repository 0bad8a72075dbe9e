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
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
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

	// Tamper with record 7 behind kartehub's back.
	conn, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET event = CAST(replace(CAST(event AS TEXT), 'Patient/p7', 'Patient/p8') AS BLOB) WHERE seq = 7`,
	} {
		if err := conn.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	conn.Close()
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

// TestVerifyCommandIndex: verify reports index rows removed to hide a
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
	writeLog(t, st, data, 10)
	st.Close()
	tamper := func(stmts ...string) {
		conn, err := sqlite3.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, stmt := range stmts {
			if err := conn.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	tamper(`DROP TRIGGER audit_index_no_delete`, `DELETE FROM audit_index WHERE seq <= 2`)
	code, out := run(t, bin, "audit", "verify", "--data", data)
	if code != 0 || !strings.Contains(out, "\nnote: records 1 to 2 have no search index") {
		t.Fatalf("verify of a trail indexed from record 3: exit %d, output:\n%s", code, out)
	}
	tamper(`DELETE FROM audit_index WHERE seq = 7 AND name = 'patient'`)
	code, out = run(t, bin, "audit", "verify", "--data", data)
	if code == 0 || !strings.HasPrefix(out, "audit trail BROKEN at record 7: its search index does not match its event (missing patient=Patient/p7)") {
		t.Fatalf("verify of a trail with index rows removed: exit %d, output:\n%s", code, out)
	}
	t.Logf("index rows removed: exit %d\n%s", code, out)
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
	for _, stmt := range []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `DELETE FROM audit_log WHERE seq = 5`} {
		if _, err := conn.Exec(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	conn.Close(t.Context())
	code, out = run(t, bin, "audit", "verify", "--database", dsn, "--data", data)
	if code == 0 || !strings.HasPrefix(out, "audit trail BROKEN at record 5: record 5 is missing (deleted)") {
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
// would, with the key created in the data directory.
func writeLog(t *testing.T, log karte.AuditLog, data string, n int) {
	t.Helper()
	chain, err := audit.OpenChain(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(log, chain, audit.WriterOptions{Now: audittest.Clock(), Interval: -1})
	defer w.Close()
	for i := 1; i <= n; i++ {
		if err := w.Record(t.Context(), audittest.Event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Checkpoint(t.Context(), &audit.Event{Type: audit.ApplicationStop}); err != nil {
		t.Fatal(err)
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
