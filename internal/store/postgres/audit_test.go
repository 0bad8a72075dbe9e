package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

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
			Unguard: []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `ALTER TABLE audit_index DISABLE TRIGGER USER`},
		}
	})
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
