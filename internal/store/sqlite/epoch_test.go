package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

// TestEpochIndexedInSteps: an epoch of the audit index is indexed a few
// rows per append, and only listed in audit_epoch once all its rows are
// in. Searches and Verify are right at every step, and a store opened on
// an epoch half indexed (a restart) goes on from where the file stands.
func TestEpochIndexedInSteps(t *testing.T) {
	sqlite.SetIndexStep(t, 0, 2)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kartehub.db")
	st := openAt(t, path)
	recs := audittest.Chained(t, 60)
	var halfway int // appends that left an epoch half indexed
	for i := 0; i < len(recs); i += 3 {
		if i == 30 { // a restart in the middle
			st.Close()
			st = openAt(t, path)
		}
		if err := st.AppendAudit(ctx, recs[i:min(i+3, len(recs))]); err != nil {
			t.Fatalf("append %d: %v", i+1, err)
		}
		epochs, rows := countRaw(t, path, `SELECT count(*) FROM audit_epoch`), countRaw(t, path, `SELECT count(*) FROM audit_block_index`)
		if indexed := countRaw(t, path, `SELECT count(*) FROM audit_block_index WHERE epoch IN (SELECT first_seq FROM audit_epoch)`); rows > indexed {
			halfway++
		}
		if _, err := audittest.VerifyBuilt(ctx, st); err != nil {
			t.Fatalf("after record %d (%d epochs, %d rows): %v", i+3, epochs, rows, err)
		}
		for _, p := range []int{1, 2, i + 1} {
			patient := fmt.Sprintf("Patient/p%d", p)
			got, err := st.SearchAudit(ctx, karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "patient", Values: []string{patient}}}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Seq != int64(p) {
				t.Fatalf("after record %d, %s found %v, want record %d", i+3, patient, seqsOf(got), p)
			}
		}
	}
	if halfway == 0 {
		t.Fatal("no epoch was ever half indexed: the steps are not small")
	}
	if n := countRaw(t, path, `SELECT count(*) FROM audit_epoch`); n < 4 {
		t.Fatalf("%d epochs indexed of 60 records, want 4 or more", n)
	}
}

func seqsOf(recs []karte.AuditRecord) []int64 {
	var s []int64
	for _, r := range recs {
		s = append(s, r.Seq)
	}
	return slices.Clip(s)
}

// countRaw runs a count query on the audit trail beside path.
func countRaw(t *testing.T, path, query string) int64 {
	t.Helper()
	db, err := sqlite3.Open(sqlite.AuditPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _, err := db.Prepare(query)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !st.Step() {
		t.Fatalf("%s: %v", query, st.Err())
	}
	return st.ColumnInt64(0)
}
