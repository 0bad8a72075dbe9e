package auditapi_test

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"kartehub/internal/auditapi"
	"kartehub/internal/karte"
)

func TestParse(t *testing.T) {
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	jst := time.FixedZone("JST", 9*3600)
	for _, tc := range []struct {
		query string
		loc   *time.Location
		want  auditapi.Search
	}{
		{"", nil, auditapi.Search{Count: 50, Query: karte.AuditQuery{Descending: true, Limit: 50}}},
		// Filters go most selective first; values are normalised and
		// distinct; "\," is a comma in a value.
		{`outcome=http://hl7.org/fhir/audit-event-outcome|4&agent=sato&patient=p1,Patient/p1,p2&entity-id=a\,b,c`, nil, auditapi.Search{
			Count: 50, Query: karte.AuditQuery{Descending: true, Limit: 50, Filters: []karte.AuditFilter{
				{Name: "entity-id", Values: []string{"a,b", "c"}},
				{Name: "patient", Values: []string{"Patient/p1", "Patient/p2"}},
				{Name: "agent", Values: []string{"sato"}},
				{Name: "outcome", Values: []string{"4"}},
			}}}},
		{"date=2026-11", time.UTC, auditapi.Search{Count: 50, Query: karte.AuditQuery{Descending: true, Limit: 50,
			Since: utc("2026-11-01T00:00:00Z"), Until: utc("2026-12-01T00:00:00Z")}}},
		{"date=2026-11-01", jst, auditapi.Search{Count: 50, Query: karte.AuditQuery{Descending: true, Limit: 50,
			Since: utc("2026-10-31T15:00:00Z"), Until: utc("2026-11-01T15:00:00Z")}}},
		{"date=ge2026-11-01T09:00%2B09:00", time.UTC, auditapi.Search{Count: 50, Query: karte.AuditQuery{Descending: true, Limit: 50,
			Since: utc("2026-11-01T00:00:00Z")}}},
		{"date=2026-11-01T10:00:00.5Z", nil, auditapi.Search{Count: 50, Query: karte.AuditQuery{Descending: true, Limit: 50,
			Since: utc("2026-11-01T10:00:00.5Z"), Until: utc("2026-11-01T10:00:00.6Z")}}},
		{"date=ge2026-11-01&date=gt2026-11-04&date=lt2026-12-01&date=le2026-11-19", time.UTC, auditapi.Search{Count: 50,
			Query: karte.AuditQuery{Descending: true, Limit: 50, Since: utc("2026-11-05T00:00:00Z"), Until: utc("2026-11-20T00:00:00Z")}}},
		{"_id=5&_sort=date&_count=0", nil, auditapi.Search{Count: 0, Total: true,
			Query: karte.AuditQuery{After: 4, Before: 6}}},
		{"_count=5000&_total=accurate&_cursor=77&_format=json&_pretty=true", nil, auditapi.Search{Count: 1000, Total: true, Cursor: 77,
			Query: karte.AuditQuery{Descending: true, Limit: 1000}}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			values, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			loc := tc.loc
			if loc == nil {
				loc = time.UTC
			}
			got, err := auditapi.Parse(values, loc)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Query.Since.Equal(tc.want.Query.Since) || !got.Query.Until.Equal(tc.want.Query.Until) {
				t.Fatalf("time range [%v, %v), want [%v, %v)", got.Query.Since, got.Query.Until, tc.want.Query.Since, tc.want.Query.Until)
			}
			got.Query.Since, got.Query.Until = tc.want.Query.Since, tc.want.Query.Until
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("Parse:\n%+v\nwant\n%+v", *got, tc.want)
			}
		})
	}
}

// TestPage: the cursor continues the search in its order, within its _id
// bounds.
func TestPage(t *testing.T) {
	for _, tc := range []struct {
		query         string
		after, before int64
	}{
		{"", 0, 0},
		{"_cursor=10", 0, 10},
		{"_cursor=10&_sort=date", 10, 0},
		{"_cursor=10&_id=20", 19, 10},
		{"_cursor=30&_id=20", 19, 21},
		{"_cursor=10&_id=20&_sort=date", 19, 21},
	} {
		values, _ := url.ParseQuery(tc.query)
		s, err := auditapi.Parse(values, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if q := s.Page(); q.After != tc.after || q.Before != tc.before {
			t.Errorf("%s: After %d, Before %d; want %d, %d", tc.query, q.After, q.Before, tc.after, tc.before)
		}
		if s.Query.Before == 10 || s.Query.After == 10 {
			t.Errorf("%s: the cursor changed the whole search: %+v", tc.query, s.Query)
		}
	}
}
