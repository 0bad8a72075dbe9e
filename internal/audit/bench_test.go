package audit_test

import (
	"context"
	"path/filepath"
	"testing"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

// BenchmarkWriterSQLite records events on the embedded store, durably (WAL,
// synchronous=FULL: one fsync per append).
func BenchmarkWriterSQLite(b *testing.B) {
	audittest.Benchmark(b, func(b *testing.B) karte.AuditLog {
		st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "kartehub.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	})
}
