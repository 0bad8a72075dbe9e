package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
	"kartehub/internal/store/storetest"
	"kartehub/internal/store/storetest/searchtest"

	"github.com/ncruces/go-sqlite3"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (karte.Store, error) {
		path := filepath.Join(t.TempDir(), "kartehub.db")
		return func() (karte.Store, error) { return sqlite.Open(context.Background(), path) }
	})
}

func TestSearch(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) (searchtest.Store, error) {
		return sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kartehub.db"))
	})
}

// TestRefusesNewerSchema: a database migrated by a later kartehub is not used.
func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kartehub.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO schema_migrations VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if st, err := sqlite.Open(context.Background(), path); err == nil {
		st.Close()
		t.Fatal("Open accepted a database with schema version 999")
	}
}
