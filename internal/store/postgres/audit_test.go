package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
)

func TestAudit(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Harness {
		dsn := newDatabase(t)
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return audittest.Harness{
			Log: st,
			Exec: func(ctx context.Context, sql string, args ...any) error {
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					return err
				}
				defer conn.Close(context.WithoutCancel(ctx))
				_, err = conn.Exec(ctx, sql, args...)
				return err
			},
			Unguard: []string{`ALTER TABLE audit_block DISABLE TRIGGER USER`, `ALTER TABLE audit_block_index DISABLE TRIGGER USER`,
				`ALTER TABLE audit_epoch DISABLE TRIGGER USER`},
			Legacy: func(t *testing.T, recs []karte.AuditRecord) karte.AuditLog {
				dsn := newDatabase(t)
				legacy(t, dsn, recs)
				return openLog(t, dsn)
			},
			Count: func(ctx context.Context, query string) (n int64, err error) {
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					return 0, err
				}
				defer conn.Close(context.WithoutCancel(ctx))
				return n, conn.QueryRow(ctx, query).Scan(&n)
			},
			Reopen: func(t *testing.T) karte.AuditLog { return openLog(t, dsn) },
		}
	})
}

// openLog opens the store at dsn until the test ends.
func openLog(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// legacy makes a database of schema version 5, as kartehub left it before
// it kept the audit trail in blocks, with recs in audit_log.
func legacy(t *testing.T, dsn string, recs []karte.AuditRecord) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	must := func(_ pgconn.CommandTag, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(conn.Exec(ctx, `CREATE TABLE schema_migrations (version INT PRIMARY KEY, applied_at BIGINT NOT NULL)`))
	files, err := filepath.Glob("migrations/000[1-5]_*.sql")
	if err != nil || len(files) != 5 {
		t.Fatalf("migrations 1 to 5: %v, %v", files, err)
	}
	for i, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		must(conn.Exec(ctx, string(src)))
		must(conn.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, 0)`, i+1))
	}
	for _, r := range recs {
		must(conn.Exec(ctx, `INSERT INTO audit_log (seq, time, event, prev, hash, checkpoint) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.Seq, r.Time.UnixNano(), r.Event, r.Prev, r.Hash, r.Checkpoint))
	}
}

func BenchmarkAuditWriter(b *testing.B) {
	audittest.Benchmark(b, func(b *testing.B) karte.AuditLog {
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	})
}
