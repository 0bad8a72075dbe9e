package postgres_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (karte.Store, error) {
		dsn := newDatabase(t)
		return func() (karte.Store, error) { return open(t, dsn) }
	})
}

// open opens a Store; it returns a nil interface, not a nil *Store, on error.
func open(t *testing.T, dsn string) (karte.Store, error) {
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// TestMigrateConcurrently: servers starting together on a new database all
// open it, and the schema is applied once.
func TestMigrateConcurrently(t *testing.T) {
	dsn := newDatabase(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := query(t, dsn, `SELECT count(*) FROM schema_migrations`, &n); err != nil || n != len(files) {
		t.Fatalf("schema_migrations holds %d rows (%v), want %d, one per migration", n, err, len(files))
	}
}

// TestNewerSchema: a database migrated by a newer kartehub is refused, not
// written to with an old idea of its schema.
func TestNewerSchema(t *testing.T) {
	dsn := newDatabase(t)
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := query(t, dsn, `INSERT INTO schema_migrations VALUES (9999, 0) RETURNING version`, new(int)); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(t.Context(), dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of a database with a newer schema: %v, want an error saying so", err)
	}
}

// TestHistoryCount: the engine's page sizes, which the contract leaves to it.
func TestHistoryCount(t *testing.T) {
	s, err := postgres.Open(t.Context(), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Write(t.Context(), func(tx karte.Tx) error {
		for v := int64(1); v <= postgres.MaxCount+1; v++ {
			r := &karte.Resource{Type: "Patient", ID: "p", VersionID: v, LastUpdated: time.UnixMilli(v), Method: "PUT", Body: []byte("{}")}
			if err := tx.Put(t.Context(), r, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ count, want int }{{0, postgres.DefaultCount}, {5000, postgres.MaxCount}, {7, 7}} {
		p, err := s.History(t.Context(), karte.HistoryQuery{Count: tc.count})
		if err != nil || len(p.Versions) != tc.want || p.Total != postgres.MaxCount+1 || p.Next == 0 {
			t.Fatalf("history with Count %d: %v; want %d versions, Total %d and a cursor", tc.count, err, tc.want, postgres.MaxCount+1)
		}
	}
	if _, err := s.History(t.Context(), karte.HistoryQuery{Count: -1}); !karte.IsKind(err, karte.Invalid) {
		t.Fatalf("history with a negative Count: %v, want Invalid", err)
	}
}

// query runs one statement on the database at dsn, scanning its one row.
func query(t *testing.T, dsn, sql string, dest ...any) error {
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	return conn.QueryRow(t.Context(), sql).Scan(dest...)
}

func newDatabase(t *testing.T) string { return pgtest.NewDatabase(t) }
