package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"kartehub/internal/karte"
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
