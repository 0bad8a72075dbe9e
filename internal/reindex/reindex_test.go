package reindex_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/record"
	"kartehub/internal/reindex"
	"kartehub/internal/search"
	"kartehub/internal/searchparam"
	"kartehub/internal/store/sqlite"
)

const customParam = `{"resourceType":"SearchParameter","url":"http://example.org/SearchParameter/patient-dob",
"name":"dob","status":"active","description":"birth date under another code","code":"dob","base":["Patient"],
"type":"date","expression":"Patient.birthDate"}`

// TestCustomParameter: a SearchParameter written through the record
// service becomes searchable for resources stored before it, once its
// reindex job has run; the job survives a restart half way.
func TestCustomParameter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kartehub.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := search.New(searchparam.New())
	mgr := reindex.New(st, eng.Index, log)
	svc := record.New(st, record.WithSearch(eng), record.WithParamsChanged(func(ctx context.Context, u string, types []string) {
		if err := mgr.Enqueue(ctx, "reindex "+u, types); err != nil {
			t.Error(err)
		}
	}))
	const n = 450 // more than two batches
	for i := range n {
		body := fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","birthDate":"19%02d-01-01"}`, i, i%100)
		if _, err := svc.Update(ctx, "Patient", fmt.Sprintf("p%d", i), []byte(body), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, "SearchParameter", []byte(customParam), ""); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.Jobs(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs after the SearchParameter: %v, %v; want one", jobs, err)
	}
	// A restart before the job ran: a new manager on a reopened store
	// finds the job and finishes it.
	st.Close()
	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng = search.New(searchparam.New())
	svc = record.New(st, record.WithSearch(eng))
	if err := svc.LoadSearchParameters(ctx); err != nil {
		t.Fatal(err)
	}
	mgr = reindex.New(st, eng.Index, log)
	done := make(chan string, 1)
	mgr.Done = func(name string) { done <- name }
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go mgr.Run(runCtx)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the reindex job did not finish: %+v", mgr.Status())
	}
	if s := mgr.Status(); len(s) != 1 || s[0].Done != n || !s[0].Finished {
		t.Errorf("status %+v, want one finished job of %d resources", s, n)
	}
	f, err := svc.Search(ctx, []string{"Patient"}, url.Values{"dob": {"1950"}, "_total": {"accurate"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	// p50, p150, p250, p350 and p450? i < 450: 50, 150, 250, 350.
	if f.Result.Total != 4 {
		t.Errorf("Patient?dob=1950 found %d, want 4", f.Result.Total)
	}
	for _, m := range f.Result.Matches {
		obj, _ := fhir.ParseObject(m.Body)
		if obj.String("birthDate") != "1950-01-01" {
			t.Errorf("%s/%s has birthDate %s", m.Type, m.ID, obj.String("birthDate"))
		}
	}
}
