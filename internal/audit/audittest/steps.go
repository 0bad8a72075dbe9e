package audittest

import (
	"context"
	"fmt"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
)

// testIndexSteps: an epoch of the audit index is indexed a few rows per
// append (auditblock.StepRows), and only listed in audit_epoch once all
// its rows are in. Searches and Verify are right at every step, and a log
// opened on an epoch half indexed (a restart) goes on from where the
// database stands.
func testIndexSteps(t *testing.T, h Harness) {
	rows, catchUp := auditblock.IndexStepRows, auditblock.IndexCatchUp
	auditblock.IndexStepRows, auditblock.IndexCatchUp = 0, 2
	t.Cleanup(func() { auditblock.IndexStepRows, auditblock.IndexCatchUp = rows, catchUp })

	ctx := context.Background()
	count := func(query string) int64 {
		t.Helper()
		n, err := h.Count(ctx, query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	log := h.Log
	recs := Chained(t, 60)
	halfway := 0 // appends that left an epoch half indexed
	for i := 0; i < len(recs); i += 3 {
		if i == 30 {
			log = h.Reopen(t)
		}
		if err := log.AppendAudit(ctx, recs[i:min(i+3, len(recs))]); err != nil {
			t.Fatalf("append %d: %v", i+1, err)
		}
		if count(`SELECT count(*) FROM audit_block_index WHERE epoch NOT IN (SELECT first_seq FROM audit_epoch)`) > 0 {
			halfway++
		}
		if _, err := VerifyBuilt(ctx, log); err != nil {
			t.Fatalf("after record %d: %v", i+3, err)
		}
		searchable, ok := log.(karte.AuditSearcher)
		if !ok {
			continue
		}
		for _, p := range []int{1, 2, i + 1} {
			patient := fmt.Sprintf("Patient/p%d", p)
			got, err := searchable.SearchAudit(ctx, karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "patient", Values: []string{patient}}}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Seq != int64(p) {
				t.Fatalf("after record %d, %s found %v, want record %d", i+3, patient, seqs(got), p)
			}
		}
	}
	if halfway == 0 {
		t.Fatal("no epoch was ever half indexed: the steps are not small")
	}
	if n := count(`SELECT count(*) FROM audit_epoch`); n < 4 {
		t.Fatalf("%d epochs indexed of 60 records, want 4 or more", n)
	}
}
