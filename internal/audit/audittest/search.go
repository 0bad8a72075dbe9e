package audittest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// SearchStart is the time of record 0 of BuildSearch: record i is
// recorded i hours later (see SearchTime).
var SearchStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// SearchSource is the server that records the events of BuildSearch.
var SearchSource = audit.Source{Observer: "kartehub-test", BaseURL: "https://hub.example.jp/fhir"}

// SearchTime is the time of record i of BuildSearch: i hours and i
// nanoseconds after SearchStart, but for record 20, whose server's clock
// had stepped back: it has the time of record 5 to the nanosecond, so that
// time order and Seq order differ.
func SearchTime(i int) time.Time {
	if i == 20 {
		i = 5
	}
	return SearchStart.Add(time.Duration(i)*time.Hour + time.Duration(i))
}

// SearchEvent returns event i of BuildSearch, one of a varied lot:
//
//   - users: Practitioner/dr-suzuki (login suzuki) if i%3 == 0, else
//     Practitioner/dr-sato (login sato)
//   - clients: emr-viewer from 10.0.0.8 if i is even, else lab-system from
//     10.0.0.9
//   - i%11 == 0: a login (DCM 110114); else i%5 == 0: a search of
//     patients p(i%4) and p((i+1)%4); else i%13 == 0: a vread of
//     Observation/o<i>/_history/2; else a read of Observation/o<i> of
//     patient p(i%4)
//   - i%7 == 0: refused (outcome 4)
//   - X-Request-Id req-<i>
func SearchEvent(i int) *audit.Event {
	e := &audit.Event{
		Type:      audit.Rest,
		User:      &audit.User{Reference: "Practitioner/dr-sato", System: "urn:kartehub:account", ID: "sato", Name: "佐藤 花子"},
		Client:    &audit.Client{ID: "lab-system", Address: "10.0.0.9"},
		RequestID: fmt.Sprintf("req-%d", i),
	}
	if i%3 == 0 {
		e.User = &audit.User{Reference: "Practitioner/dr-suzuki", System: "urn:kartehub:account", ID: "suzuki", Name: "鈴木 一郎"}
	}
	if i%2 == 0 {
		e.Client = &audit.Client{ID: "emr-viewer", Address: "10.0.0.8"}
	}
	switch {
	case i%11 == 0:
		e.Type = audit.Login
	case i%5 == 0:
		e.Interaction = "search-type"
		e.Patients = []string{fmt.Sprintf("Patient/p%d", i%4), fmt.Sprintf("Patient/p%d", (i+1)%4)}
		e.Query = fmt.Sprintf("subject=Patient/p%d", i%4)
	case i%13 == 0:
		e.Interaction = "vread"
		e.Resource = fmt.Sprintf("Observation/o%d/_history/2", i)
		e.Patients = []string{fmt.Sprintf("Patient/p%d", i%4)}
	default:
		e.Interaction = "read"
		e.Resource = fmt.Sprintf("Observation/o%d", i)
		e.Patients = []string{fmt.Sprintf("Patient/p%d", i%4)}
	}
	if i%7 == 0 {
		e.Outcome, e.OutcomeDesc = audit.MinorFailure, "forbidden"
	}
	return e
}

// BuildSearch appends records 1 to n of SearchEvent, with their index
// entries, in appends of up to 7 records, and returns them.
func BuildSearch(t testing.TB, log karte.AuditLog, n int) []karte.AuditRecord {
	t.Helper()
	chain := audit.NewChain(Key, Every)
	recs := make([]karte.AuditRecord, 0, n)
	var last *karte.AuditRecord
	for i := 1; i <= n; i++ {
		at := SearchTime(i)
		data, err := SearchEvent(i).JSON(at, SearchSource)
		if err != nil {
			t.Fatal(err)
		}
		r := chain.Next(last, at, data, false)
		if r.Index, err = audit.Index(data); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		last = &recs[len(recs)-1]
	}
	for from := 0; from < n; from += 7 {
		if err := log.AppendAudit(context.Background(), recs[from:min(from+7, n)]); err != nil {
			t.Fatalf("append records %d-: %v", from+1, err)
		}
	}
	return recs
}

// matches reports whether r, with index entries index, matches q (but for
// its Limit): the meaning of an AuditQuery, which every engine must give.
func matches(q karte.AuditQuery, r *karte.AuditRecord, index []karte.AuditIndexEntry) bool {
	switch {
	case q.After > 0 && r.Seq <= q.After,
		q.Before > 0 && r.Seq >= q.Before,
		!q.Since.IsZero() && r.Time.Before(q.Since),
		!q.Until.IsZero() && !r.Time.Before(q.Until):
		return false
	}
	for _, f := range q.Filters {
		if !slices.ContainsFunc(index, func(e karte.AuditIndexEntry) bool {
			return e.Name == f.Name && slices.Contains(f.Values, e.Value)
		}) {
			return false
		}
	}
	return true
}

// searchCase is one query of the search suite.
type searchCase struct {
	name string
	q    karte.AuditQuery
}

func filter(name string, values ...string) karte.AuditFilter {
	return karte.AuditFilter{Name: name, Values: values}
}

func filters(fs ...karte.AuditFilter) karte.AuditQuery { return karte.AuditQuery{Filters: fs} }

// searchCases are run over the 60 records of BuildSearch, each both ways.
func searchCases() []searchCase {
	withTime := func(q karte.AuditQuery, since, until time.Time) karte.AuditQuery {
		q.Since, q.Until = since, until
		return q
	}
	withSeq := func(q karte.AuditQuery, after, before int64) karte.AuditQuery {
		q.After, q.Before = after, before
		return q
	}
	many := []string{"Patient/none"}
	for i := range 200 {
		many = append(many, fmt.Sprintf("Patient/x%d", i))
	}
	many = append(many, "Patient/p3")
	return []searchCase{
		{"All", filters()},
		{"Patient", filters(filter(audit.IndexPatient, "Patient/p1"))},
		{"PatientOr", filters(filter(audit.IndexPatient, "Patient/p1", "Patient/p2"))},
		{"PatientManyValues", filters(filter(audit.IndexPatient, many...))},
		{"PatientAndAgent", filters(filter(audit.IndexPatient, "Patient/p1"), filter(audit.IndexAgent, "suzuki"))},
		{"PatientAndPatient", filters(filter(audit.IndexPatient, "Patient/p1"), filter(audit.IndexPatient, "Patient/p2"))},
		{"AgentReference", filters(filter(audit.IndexAgent, "Practitioner/dr-sato"))},
		{"AgentLogin", filters(filter(audit.IndexAgent, "suzuki"))},
		{"AgentClient", filters(filter(audit.IndexAgent, "emr-viewer"))},
		{"AgentServerNot", filters(filter(audit.IndexAgent, "kartehub-test"))},
		{"Action", filters(filter(audit.IndexAction, "E"))},
		{"ActionOr", filters(filter(audit.IndexAction, "R", "C"))},
		{"Type", filters(filter(audit.IndexType, "110114"))},
		{"TypeSystem", filters(filter(audit.IndexType, "http://terminology.hl7.org/CodeSystem/audit-event-type|rest"))},
		{"TypeWrongSystem", filters(filter(audit.IndexType, "http://example.org|rest"))},
		{"Subtype", filters(filter(audit.IndexSubtype, "vread"))},
		{"Outcome", filters(filter(audit.IndexOutcome, "4"))},
		{"OutcomeAndAction", filters(filter(audit.IndexOutcome, "4"), filter(audit.IndexAction, "R"))},
		{"Entity", filters(filter(audit.IndexEntity, "Observation/o13"))},
		{"EntityVersion", filters(filter(audit.IndexEntity, "Observation/o26/_history/2"))},
		{"EntityPatient", filters(filter(audit.IndexEntity, "Patient/p2"))},
		{"EntityID", filters(filter(audit.IndexEntityID, "req-3"))},
		{"Address", filters(filter(audit.IndexAddress, "10.0.0.9"))},
		{"AddressServerNot", filters(filter(audit.IndexAddress, "https://hub.example.jp/fhir"))},
		{"NoSuchValue", filters(filter(audit.IndexPatient, "Patient/none"))},
		{"NoSuchName", filters(filter("nope", "Patient/p1"))},
		{"CaseMatters", filters(filter(audit.IndexAgent, "SATO"))},
		{"Since", withTime(filters(), SearchTime(10), time.Time{})},
		{"Until", withTime(filters(), time.Time{}, SearchTime(10))},
		{"SinceUntil", withTime(filters(), SearchTime(5), SearchTime(21))},
		{"SinceUntilOneNanosecond", withTime(filters(), SearchTime(5), SearchTime(5).Add(1))},
		{"SinceUntilEmpty", withTime(filters(), SearchTime(5), SearchTime(5))},
		{"FarPastFuture", withTime(filters(), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"FarFuture", withTime(filters(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})},
		{"OtherZone", withTime(filters(), SearchTime(10).In(time.FixedZone("JST", 9*3600)), SearchTime(12).In(time.FixedZone("JST", 9*3600)))},
		{"TimeAndPatient", withTime(filters(filter(audit.IndexPatient, "Patient/p1")), SearchTime(3), SearchTime(40))},
		{"After", withSeq(filters(), 50, 0)},
		{"Before", withSeq(filters(), 0, 9)},
		{"AfterBefore", withSeq(filters(filter(audit.IndexPatient, "Patient/p0")), 10, 30)},
		{"AfterBeforeEmpty", withSeq(filters(), 10, 11)},
	}
}

func testSearch(t *testing.T, log karte.AuditLog) {
	s, ok := log.(karte.AuditSearcher)
	if !ok {
		t.Skip("the log is no karte.AuditSearcher")
	}
	ctx := t.Context()
	const n = 60
	recs := BuildSearch(t, log, n)
	index := make([][]karte.AuditIndexEntry, n)
	for i, r := range recs {
		index[i] = r.Index
	}
	want := func(q karte.AuditQuery) []int64 {
		var seqs []int64
		for i := range recs {
			if matches(q, &recs[i], index[i]) {
				seqs = append(seqs, recs[i].Seq)
			}
		}
		if q.Descending {
			slices.Reverse(seqs)
		}
		return seqs
	}

	// The reference is right about what BuildSearch made.
	for _, c := range []struct {
		q     karte.AuditQuery
		count int
	}{
		{filters(filter(audit.IndexOutcome, "4")), n / 7},
		{filters(filter(audit.IndexType, "110114")), n / 11},
		{filters(filter(audit.IndexSubtype, "vread")), 4}, // 13, 26, 39, 52
		{filters(filter(audit.IndexEntityID, "req-3")), 1},
		{filters(filter(audit.IndexAgent, "suzuki")), n / 3},
		{karte.AuditQuery{Since: SearchTime(5), Until: SearchTime(6)}, 2}, // 5 and 20
	} {
		if got := want(c.q); len(got) != c.count {
			t.Fatalf("the suite's reference finds %v for %+v, want %d records", got, c.q, c.count)
		}
	}

	for _, c := range searchCases() {
		for _, desc := range []bool{false, true} {
			name := c.name
			if desc {
				name += "/Descending"
			}
			t.Run(name, func(t *testing.T) {
				q := c.q
				q.Descending, q.Limit = desc, n+1
				got, err := s.SearchAudit(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if w := want(q); !slices.Equal(seqs(got), w) {
					t.Fatalf("SearchAudit(%+v) = %v, want %v", q, seqs(got), w)
				}
				for _, r := range got {
					if r.Index != nil {
						t.Fatalf("record %d came with its index", r.Seq)
					}
					same(t, r, recs[r.Seq-1], false)
				}
				total, err := s.CountAudit(ctx, q)
				if err != nil || total != int64(len(got)) {
					t.Fatalf("CountAudit = %d, %v; want %d", total, err, len(got))
				}
				// The same, a page of 4 at a time, as the API pages.
				var paged []int64
				p := q
				p.Limit = 4
				for range n {
					page, err := s.SearchAudit(ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, seqs(page)...)
					if len(page) < p.Limit {
						break
					}
					if last := page[len(page)-1].Seq; desc {
						p.Before = last
					} else {
						p.After = last
					}
				}
				if !slices.Equal(paged, seqs(got)) {
					t.Fatalf("paged: %v, want %v", paged, seqs(got))
				}
			})
		}
	}

	t.Run("Invalid", func(t *testing.T) {
		for _, q := range []karte.AuditQuery{
			{Limit: 0},
			{Limit: -1},
			{Limit: 10, Filters: []karte.AuditFilter{{Name: audit.IndexPatient}}},
			{Limit: 10, Filters: []karte.AuditFilter{{Values: []string{"Patient/p1"}}}},
		} {
			if _, err := s.SearchAudit(ctx, q); !karte.IsKind(err, karte.Invalid) {
				t.Errorf("SearchAudit(%+v): %v, want Invalid", q, err)
			}
		}
		if _, err := s.CountAudit(ctx, karte.AuditQuery{Filters: []karte.AuditFilter{{Name: audit.IndexAgent}}}); !karte.IsKind(err, karte.Invalid) {
			t.Errorf("CountAudit of a filter without values: %v, want Invalid", err)
		}
	})
}

// SearchAudit implements karte.AuditSearcher.
func (m *MemLog) SearchAudit(_ context.Context, q karte.AuditQuery) ([]karte.AuditRecord, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, karte.Errorf(karte.Invalid, "audit query: limit %d", q.Limit)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []karte.AuditRecord
	for i := range m.recs {
		if q.Descending {
			i = len(m.recs) - 1 - i
		}
		if r := m.recs[i]; matches(q, &r, r.Index) {
			r.Index = nil
			if out = append(out, r); len(out) == q.Limit {
				break
			}
		}
	}
	return out, nil
}

// CountAudit implements karte.AuditSearcher.
func (m *MemLog) CountAudit(_ context.Context, q karte.AuditQuery) (int64, error) {
	if err := q.Validate(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := int64(0)
	for i := range m.recs {
		if matches(q, &m.recs[i], m.recs[i].Index) {
			n++
		}
	}
	return n, nil
}
