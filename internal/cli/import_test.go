package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
)

// TestImportAuthor imports a bundle into a data directory: each version it
// writes names the command as its author, and the operating-system user
// who ran it.
func TestImportAuthor(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "bundle.json")
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p1","active":true},"request":{"method":"PUT","url":"Patient/p1"}}]}`
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "import", "--quiet", "--data", dir, file)

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.Read(t.Context(), "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Author; a.Kind != karte.AuthorProcess || a.ID != "kartehub import" || a.Name == "" {
		t.Errorf("author %+v, want the process kartehub import run by a named user", a)
	}
}

// TestImportPostgresAnalyzes imports into PostgreSQL: the planner's
// statistics are up to date when the import ends, and the import is in
// the trail.
func TestImportPostgresAnalyzes(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "bundle.json")
	writeFile(t, file, `{"resourceType":"Bundle","type":"transaction","entry":[`+
		`{"resource":{"resourceType":"Patient","id":"p1","active":true},"request":{"method":"PUT","url":"Patient/p1"}}]}`)
	mustRun(t, "import", "--quiet", "--database", dsn, "--data", dir, file)

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var analysed bool
	if err := conn.QueryRow(t.Context(),
		`SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'resource_version'`).Scan(&analysed); err != nil {
		t.Fatal(err)
	}
	if !analysed {
		t.Error("resource_version was not analysed after the import")
	}
	var events int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM audit_block`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events == 0 {
		t.Error("the import is not in the audit trail")
	}
}
