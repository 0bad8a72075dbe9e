package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlsearch"
	"kartehub/internal/store/storetest/searchtest"
)

func TestSearch(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) (searchtest.Store, error) {
		return postgres.Open(t.Context(), pgtest.NewDatabase(t))
	})
}

// TestMigrateSearch: a database written before search gets a live row for
// each resource not deleted, with the rkey that Put would give it, and no
// index rows until its resources are written again.
func TestMigrateSearch(t *testing.T) {
	dsn := newDatabase(t)
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
			t.Fatalf("%.60s: %v", sql, err)
		}
	}
	exec(string(init))
	exec(`CREATE TABLE schema_migrations (version INT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	exec(`INSERT INTO schema_migrations VALUES (1, 0)`)
	versions := []struct {
		typ, id string
		version int64
		deleted bool
	}{
		{"Patient", "a", 1, false}, {"Patient", "a", 2, false},
		{"Patient", "gone", 1, false}, {"Patient", "gone", 2, true},
		{"Observation", "ü-ß-✓", 1, false}, // ids are ASCII in FHIR, but the hash is of UTF-8 bytes
		{"Observation", strings.Repeat("x", 64), 1, false},
	}
	for i, v := range versions {
		exec(`WITH v AS (INSERT INTO resource_version (type, id, version, last_updated, deleted, method, body)
			VALUES ($1, $2, $3, $4, $5, 'PUT', '{}') RETURNING seq)
			INSERT INTO resource SELECT $1, $2, $3, seq, $5 FROM v
			ON CONFLICT (type, id) DO UPDATE SET version = excluded.version, seq = excluded.seq, deleted = excluded.deleted`,
			v.typ, v.id, v.version, int64(1000+i), v.deleted)
	}

	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, _ := conn.Query(t.Context(), `SELECT type, id, rid, rkey, version, last_updated FROM live_resource ORDER BY rid`)
	type live struct {
		typ, id                string
		rid, rkey, version, lu int64
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (live, error) {
		var l live
		return l, r.Scan(&l.typ, &l.id, &l.rid, &l.rkey, &l.version, &l.lu)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("live resources after the migration: %+v, want Patient/a and the two Observations", got)
	}
	for _, l := range got {
		if want := sqlsearch.ResourceKey(l.typ, l.id); l.rkey != want {
			t.Errorf("%s/%s: rkey %d, want %d", l.typ, l.id, l.rkey, want)
		}
		if l.typ == "Patient" && (l.version != 2 || l.lu != 1001) {
			t.Errorf("Patient/a: version %d last updated %d, want 2 and 1001", l.version, l.lu)
		}
	}

	// Found by what the live rows hold, not yet by index values.
	name := karte.Clause{{Param: "name", Kind: karte.KindString, String: "ann"}}
	search := func(q *karte.Query) []*karte.Resource {
		t.Helper()
		q.Count = 10
		res, err := s.Search(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		return res.Matches
	}
	if m := search(&karte.Query{Types: []string{"Patient"}}); len(m) != 1 || m[0].ID != "a" || m[0].VersionID != 2 {
		t.Fatalf("patients after the migration: %v, want Patient/a version 2", m)
	}
	if m := search(&karte.Query{Types: []string{"Patient"}, Where: []karte.Clause{name}}); len(m) != 0 {
		t.Fatalf("name search before a reindex: %v, want nothing", m)
	}
	// Written again (as a reindex would), with its rid kept.
	err = s.Write(t.Context(), func(tx karte.Tx) error {
		r := &karte.Resource{Type: "Patient", ID: "a", VersionID: 3, LastUpdated: time.UnixMilli(2000), Method: "PUT", Body: []byte("{}")}
		return tx.Put(t.Context(), r, &karte.Index{Strings: []karte.StringEntry{{Param: "name", Value: "ann", Exact: "Ann"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := search(&karte.Query{Types: []string{"Patient"}, Where: []karte.Clause{name}}); len(m) != 1 || m[0].VersionID != 3 {
		t.Fatalf("name search after a write: %v, want Patient/a version 3", m)
	}
	var rid int64
	if err := query(t, dsn, `SELECT rid FROM sp_string`, &rid); err != nil || rid != got[0].rid {
		t.Fatalf("index row of Patient/a: rid %d (%v), want %d", rid, err, got[0].rid)
	}
}

// TestSearchWhileWriting: writers update resources concurrently while
// searches run; every search sees one snapshot (its page and its total
// agree), and in the end each resource has the index rows of its last
// version only.
func TestSearchWhileWriting(t *testing.T) {
	dsn := newDatabase(t)
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, rounds = 4, 25
	names := []string{"ann", "bob"}
	put := func(id string, v int64, name string) error {
		return s.Write(t.Context(), func(tx karte.Tx) error {
			r := &karte.Resource{Type: "Patient", ID: id, VersionID: v, LastUpdated: time.UnixMilli(v), Method: "PUT", Body: []byte("{}")}
			ix := &karte.Index{
				Strings: []karte.StringEntry{{Param: "name", Value: name, Exact: name}},
				Tokens:  []karte.TokenEntry{{Param: "identifier", System: "urn:x", Code: id}},
				Dates:   []karte.DateEntry{{Param: "birthdate", Lo: v, Hi: v + 1}},
			}
			return tx.Put(t.Context(), r, ix)
		})
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range 5 {
				id := fmt.Sprintf("w%d-%d", w, i)
				for v := int64(1); v <= rounds; v++ {
					if err := put(id, v, names[v%2]); err != nil {
						t.Errorf("put %s/%d: %v", id, v, err)
						return
					}
				}
			}
		})
	}
	// Two writers racing to create one id: the loser retries as an update.
	for range 2 {
		wg.Go(func() {
			err := s.Write(t.Context(), func(tx karte.Tx) error {
				v := int64(1)
				if r, err := tx.Current(t.Context(), "Patient", "race"); err == nil {
					v = r.VersionID + 1
				}
				r := &karte.Resource{Type: "Patient", ID: "race", VersionID: v, LastUpdated: time.UnixMilli(v), Method: "PUT", Body: []byte("{}")}
				return tx.Put(t.Context(), r, &karte.Index{Strings: []karte.StringEntry{{Param: "name", Value: "race", Exact: "race"}}})
			})
			if err != nil {
				t.Errorf("racing create: %v", err)
			}
		})
	}
	searches := 0
	var sg sync.WaitGroup
	sg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, n := range names {
				q := &karte.Query{Types: []string{"Patient"}, Count: 1000, Total: true,
					Where: []karte.Clause{{{Param: "name", Kind: karte.KindString, Op: karte.Exact, String: n}}},
					Sort:  []karte.SortKey{{Param: "birthdate", Kind: karte.KindDate}}}
				res, err := s.Search(t.Context(), q)
				if err != nil {
					t.Errorf("search: %v", err)
					return
				}
				if len(res.Matches) != res.Total {
					t.Errorf("search for %s: %d matches but Total %d", n, len(res.Matches), res.Total)
				}
				for _, m := range res.Matches {
					if names[m.VersionID%2] != n {
						t.Errorf("search for %s: %s/%s version %d, whose name is %s", n, m.Type, m.ID, m.VersionID, names[m.VersionID%2])
					}
				}
				searches++
			}
		}
	})
	wg.Wait()
	close(done)
	sg.Wait()
	t.Logf("%d searches during %d writes", searches, writers*5*rounds+2)

	var n int
	for table, want := range map[string]int{"sp_string": writers*5 + 1, "sp_token": writers * 5, "sp_date": writers * 5} {
		if err := query(t, dsn, `SELECT count(*) FROM `+table, &n); err != nil || n != want {
			t.Errorf("%s holds %d rows (%v), want %d: one per resource", table, n, err, want)
		}
	}
	if err := query(t, dsn, `SELECT count(*) FROM sp_string s JOIN live_resource r USING (rid)
		WHERE s.value <> CASE r.version % 2 WHEN 0 THEN 'ann' WHEN 1 THEN 'bob' END AND r.id <> 'race'`, &n); err != nil || n != 0 {
		t.Errorf("%d index rows not of their resource's current version (%v)", n, err)
	}
}

// TestDeleteLeavesNoIndexRows: a deletion removes the index rows of every
// table, and the resource's row stays, out of the live view.
func TestDeleteLeavesNoIndexRows(t *testing.T) {
	dsn := newDatabase(t)
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ix := &karte.Index{
		Strings:    []karte.StringEntry{{Param: "name", Value: "a", Exact: "A"}},
		Tokens:     []karte.TokenEntry{{Param: "code", Code: "c"}},
		References: []karte.ReferenceEntry{{Param: "subject", Type: "Patient", ID: "p"}, {Param: "subject", URL: "http://x"}},
		Dates:      []karte.DateEntry{{Param: "date", Lo: 1, Hi: 2}},
		Numbers:    []karte.NumberEntry{{Param: "value", Value: 1.5}},
		URIs:       []karte.URIEntry{{Param: "url", URI: "urn:x"}},
		Composites: []karte.CompositeEntry{{Param: "cv", Code1: "c", Number2: 2, HasNumber2: true}, {Param: "cd", Code1: "c", Lo2: 1, Hi2: 2}},
	}
	for v, del := range []bool{false, false, true} {
		err := s.Write(t.Context(), func(tx karte.Tx) error {
			r := &karte.Resource{Type: "Observation", ID: "o", VersionID: int64(v + 1), Deleted: del, Method: "PUT", Body: []byte("{}")}
			return tx.Put(t.Context(), r, ix)
		})
		if err != nil {
			t.Fatal(err)
		}
		var total int
		if err := query(t, dsn, `SELECT (SELECT count(*) FROM sp_string) + (SELECT count(*) FROM sp_token)
			+ (SELECT count(*) FROM sp_reference) + (SELECT count(*) FROM sp_date) + (SELECT count(*) FROM sp_number)
			+ (SELECT count(*) FROM sp_uri) + (SELECT count(*) FROM sp_composite)`, &total); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 9, true: 0}[del]; total != want {
			t.Fatalf("after version %d: %d index rows, want %d", v+1, total, want)
		}
	}
	var all, live int
	if err := query(t, dsn, `SELECT (SELECT count(*) FROM resource), (SELECT count(*) FROM live_resource)`, &all, &live); err != nil || all != 1 || live != 0 {
		t.Fatalf("resource rows %d, live %d (%v); want 1 and 0", all, live, err)
	}
}

// TestExplain: the plan is PostgreSQL's EXPLAIN of the page statement.
func TestExplain(t *testing.T) {
	s, err := postgres.Open(t.Context(), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Search(t.Context(), &karte.Query{Types: []string{"Patient"}, Count: 10, Explain: true,
		Where: []karte.Clause{{{Param: "name", Kind: karte.KindString, String: "a"}}},
		Sort:  []karte.SortKey{{Param: "birthdate", Kind: karte.KindDate}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Plan, "postgres:\n") || !strings.Contains(res.Plan, "Limit") {
		t.Fatalf("plan %q: want the notes and PostgreSQL's plan", res.Plan)
	}
}

// TestReindex: Reindex replaces the index of the current version only.
func TestReindex(t *testing.T) {
	s, err := postgres.Open(t.Context(), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	name := func(n string) *karte.Index {
		return &karte.Index{Strings: []karte.StringEntry{{Param: "name", Value: n, Exact: n}}}
	}
	put := func(id string, v int64, deleted bool, ix *karte.Index) *karte.Resource {
		t.Helper()
		r := &karte.Resource{Type: "Patient", ID: id, VersionID: v, Deleted: deleted, LastUpdated: time.UnixMilli(v), Method: "PUT", Body: []byte("{}")}
		if err := s.Write(t.Context(), func(tx karte.Tx) error { return tx.Put(t.Context(), r, ix) }); err != nil {
			t.Fatal(err)
		}
		return r
	}
	found := func(n string) []string {
		t.Helper()
		res, err := s.Search(t.Context(), &karte.Query{Types: []string{"Patient"}, Count: 10,
			Where: []karte.Clause{{{Param: "name", Kind: karte.KindString, Op: karte.Exact, String: n}}}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.ID)
		}
		return ids
	}
	a1 := put("a", 1, false, name("old"))
	b1 := put("b", 1, false, name("old"))
	put("b", 2, false, name("b2"))
	c1 := put("c", 1, false, name("old"))
	put("c", 2, true, nil)
	for _, r := range []*karte.Resource{a1, b1, c1} {
		if err := s.Reindex(t.Context(), r, name("new")); err != nil {
			t.Fatalf("reindex %s: %v", r.ID, err)
		}
	}
	if got := found("new"); fmt.Sprint(got) != "[a]" {
		t.Errorf("new index found %v, want [a]: only the current, live version is reindexed", got)
	}
	if got := found("old"); len(got) != 0 {
		t.Errorf("old index found %v, want nothing", got)
	}
	if got := found("b2"); fmt.Sprint(got) != "[b]" {
		t.Errorf("index of b's current version found %v, want [b]", got)
	}
}

// TestJobs: job states are kept, replaced and removed by name.
func TestJobs(t *testing.T) {
	s, err := postgres.Open(t.Context(), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, j := range []struct{ name, state string }{{"a", "1"}, {"b", "2"}, {"a", "3"}} {
		if err := s.PutJob(t.Context(), j.name, []byte(j.state)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteJob(t.Context(), "missing"); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Jobs(t.Context())
	if err != nil || len(jobs) != 2 || string(jobs["a"]) != "3" || string(jobs["b"]) != "2" {
		t.Fatalf("jobs %q (%v), want a: 3 and b: 2", jobs, err)
	}
	if err := s.DeleteJob(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if jobs, err := s.Jobs(t.Context()); err != nil || len(jobs) != 1 || string(jobs["b"]) != "2" {
		t.Fatalf("jobs after deleting a: %q (%v), want b: 2", jobs, err)
	}
}
