package auditapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/auditapi"
	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files")

// n is how many records the tests' log holds (audittest.BuildSearch).
const n = 60

// newServer returns a server of the AuditEvent API on a SQLite store in a
// temporary directory, whose audit log holds records 1 to n of
// audittest.SearchEvent.
func newServer(t *testing.T, opts auditapi.Options) (*httptest.Server, []karte.AuditRecord) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	recs := audittest.BuildSearch(t, st, n)
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	mux := http.NewServeMux()
	auditapi.New(st, "/fhir", opts).Mount(mux)
	mux.HandleFunc("/fhir/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the rest of the FHIR API", http.StatusTeapot)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, recs
}

// get requests path of srv and returns the status, the headers and the
// body decoded.
func get(t *testing.T, srv *httptest.Server, method, path string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if method != http.MethodHead {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s %s: %d, body is no JSON: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, resp.Header, body
}

// ids returns the ids of a searchset's entries, and checks that each
// fullUrl ends in its id.
func ids(t *testing.T, b map[string]any) []int64 {
	t.Helper()
	entries, _ := b["entry"].([]any)
	var out []int64
	for _, e := range entries {
		e := e.(map[string]any)
		res := e["resource"].(map[string]any)
		id, err := strconv.ParseInt(res["id"].(string), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(e["fullUrl"].(string), "/fhir/AuditEvent/"+res["id"].(string)) {
			t.Fatalf("fullUrl %s for id %d", e["fullUrl"], id)
		}
		out = append(out, id)
	}
	return out
}

// where returns, newest first, the numbers i of the events
// audittest.SearchEvent(i) for which keep holds: what a search must find,
// worked out from the events as recorded rather than from their index.
func where(keep func(i int, e *audit.Event) bool) []int64 {
	var out []int64
	for i := n; i >= 1; i-- {
		if keep(i, audittest.SearchEvent(i)) {
			out = append(out, int64(i))
		}
	}
	return out
}

func TestSearch(t *testing.T) {
	srv, _ := newServer(t, auditapi.Options{})
	jst := time.FixedZone("JST", 9*3600)
	patient := func(ref string) func(int, *audit.Event) bool {
		return func(_ int, e *audit.Event) bool { return slices.Contains(e.Patients, ref) }
	}
	during := func(from, to time.Time) func(int, *audit.Event) bool {
		return func(i int, _ *audit.Event) bool {
			at := audittest.SearchTime(i)
			return !at.Before(from) && at.Before(to)
		}
	}
	hour := func(h int) time.Time { return audittest.SearchStart.Add(time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", where(func(int, *audit.Event) bool { return true })},
		{"patient=Patient/p1", where(patient("Patient/p1"))},
		{"patient=p1", where(patient("Patient/p1"))},
		{"patient=Patient/p1,Patient/p2", where(func(i int, e *audit.Event) bool {
			return patient("Patient/p1")(i, e) || patient("Patient/p2")(i, e)
		})},
		{"patient=Patient/p1&patient=Patient/p2", where(func(i int, e *audit.Event) bool {
			return patient("Patient/p1")(i, e) && patient("Patient/p2")(i, e)
		})},
		{"agent=suzuki", where(func(_ int, e *audit.Event) bool { return e.User.ID == "suzuki" })},
		{"agent=Practitioner/dr-sato", where(func(_ int, e *audit.Event) bool { return e.User.Reference == "Practitioner/dr-sato" })},
		{"agent=emr-viewer", where(func(_ int, e *audit.Event) bool { return e.Client.ID == "emr-viewer" })},
		{"address=10.0.0.9", where(func(_ int, e *audit.Event) bool { return e.Client.Address == "10.0.0.9" })},
		{"action=E", where(func(_ int, e *audit.Event) bool { return e.Type == audit.Login || e.Interaction == "search-type" })},
		{"action=http://hl7.org/fhir/audit-event-action|R", where(func(_ int, e *audit.Event) bool {
			return e.Interaction == "read" || e.Interaction == "vread"
		})},
		{"outcome=4", where(func(_ int, e *audit.Event) bool { return e.Outcome == audit.MinorFailure })},
		{"outcome=0&type=110114", where(func(_ int, e *audit.Event) bool { return e.Outcome == audit.Success && e.Type == audit.Login })},
		{"type=http://dicom.nema.org/resources/ontology/DCM|110114", where(func(_ int, e *audit.Event) bool { return e.Type == audit.Login })},
		{"subtype=vread", where(func(_ int, e *audit.Event) bool { return e.Interaction == "vread" })},
		{"subtype=http://hl7.org/fhir/restful-interaction|search-type&patient=Patient/p3", where(func(i int, e *audit.Event) bool {
			return e.Interaction == "search-type" && patient("Patient/p3")(i, e)
		})},
		{"entity=Observation/o13", where(func(_ int, e *audit.Event) bool { return strings.HasPrefix(e.Resource, "Observation/o13/") })},
		{"entity=Observation/o7", where(func(_ int, e *audit.Event) bool { return e.Resource == "Observation/o7" })},
		{"entity-id=req-7", []int64{7}},
		{"agent=suzuki&outcome=4&patient=Patient/p1", where(func(i int, e *audit.Event) bool {
			return e.User.ID == "suzuki" && e.Outcome == audit.MinorFailure && patient("Patient/p1")(i, e)
		})},
		{"date=ge2026-11-01T10:00:00Z&date=lt2026-11-01T20:00:00Z", where(during(hour(10), hour(20)))},
		{"date=gt2026-11-01T10:00:00Z&date=le2026-11-01T20:00:00Z", where(during(hour(10).Add(time.Second), hour(20).Add(time.Second)))},
		{"date=2026-11-02", where(during(hour(24), hour(48)))},
		{"date=2026-11-02T09:00:00%2B09:00", where(during(hour(24), hour(24).Add(time.Second)))},
		{"date=sa2026-11-03", where(during(hour(72), hour(1000)))},
		{"date=eb2026-11-01T05:00Z", where(during(hour(0), hour(5)))},
		{"date=2026-11-01T05:00:00.000000005Z", []int64{20, 5}},
		{"date=2026-11", where(func(int, *audit.Event) bool { return true })},
		{"date=2025", nil},
		{"date=ge2026-11-01T10:00:00Z&patient=Patient/p2", where(func(i int, e *audit.Event) bool {
			return during(hour(10), hour(1000))(i, e) && patient("Patient/p2")(i, e)
		})},
		{"_id=5", []int64{5}},
		{"_id=5&patient=Patient/p2", []int64{5}},
		{"_id=5&patient=Patient/p3", nil},
		{"_id=61", nil},
		{"agent=nobody", nil},
		{"_count=1000&_sort=-date", where(func(int, *audit.Event) bool { return true })},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q := tc.query
			if !strings.Contains(q, "_count") {
				q += "&_count=1000"
			}
			status, _, b := get(t, srv, "GET", "/fhir/AuditEvent?"+q)
			if status != 200 || b["resourceType"] != "Bundle" || b["type"] != "searchset" {
				t.Fatalf("status %d, body %v", status, b)
			}
			if got := ids(t, b); !slices.Equal(got, tc.want) {
				t.Fatalf("found %v, want %v", got, tc.want)
			}
			// Oldest first with _sort=date.
			_, _, b = get(t, srv, "GET", "/fhir/AuditEvent?"+q+"&_sort=date")
			want := slices.Clone(tc.want)
			slices.Reverse(want)
			if got := ids(t, b); !slices.Equal(got, want) {
				t.Fatalf("_sort=date: found %v, want %v", got, want)
			}
		})
	}

	// Dates without a zone are in Options.Location.
	srv, _ = newServer(t, auditapi.Options{Location: jst})
	_, _, b := get(t, srv, "GET", "/fhir/AuditEvent?date=2026-11-02&_count=1000")
	if got, want := ids(t, b), where(during(hour(24-9), hour(48-9))); !slices.Equal(got, want) {
		t.Fatalf("date=2026-11-02 in JST: found %v, want %v", got, want)
	}
}

func TestPaging(t *testing.T) {
	srv, _ := newServer(t, auditapi.Options{Base: "https://hub.example.jp/fhir"})
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"_count=7&_total=accurate", where(func(int, *audit.Event) bool { return true })},
		{"_count=3&_total=accurate&agent=suzuki&_sort=date", func() []int64 {
			w := where(func(_ int, e *audit.Event) bool { return e.User.ID == "suzuki" })
			slices.Reverse(w)
			return w
		}()},
		{"_count=5&_total=accurate&patient=Patient/p0,Patient/p1", where(func(_ int, e *audit.Event) bool {
			return slices.Contains(e.Patients, "Patient/p0") || slices.Contains(e.Patients, "Patient/p1")
		})},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var got []int64
			path := "/fhir/AuditEvent?" + tc.query
			pages := 0
			for path != "" {
				status, _, b := get(t, srv, "GET", path)
				if status != 200 {
					t.Fatalf("%s: status %d: %v", path, status, b)
				}
				if total := b["total"]; total != float64(len(tc.want)) {
					t.Fatalf("%s: total %v, want %d", path, total, len(tc.want))
				}
				got = append(got, ids(t, b)...)
				path = ""
				for _, l := range b["link"].([]any) {
					l := l.(map[string]any)
					u, err := url.Parse(l["url"].(string))
					if err != nil || u.Host != "hub.example.jp" || u.Path != "/fhir/AuditEvent" {
						t.Fatalf("link %v", l)
					}
					if l["relation"] == "next" {
						path = u.RequestURI()
					}
				}
				if pages++; pages > n {
					t.Fatal("the next links do not end")
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("paged through %v, want %v", got, tc.want)
			}
		})
	}

	// _count=0: the total only.
	_, _, b := get(t, srv, "GET", "/fhir/AuditEvent?outcome=4&_count=0")
	if b["total"] != float64(n/7) || b["entry"] != nil {
		t.Fatalf("_count=0: %v", b)
	}
	// Without _total, no total.
	if _, _, b := get(t, srv, "GET", "/fhir/AuditEvent?_count=2"); b["total"] != nil || len(ids(t, b)) != 2 {
		t.Fatalf("without _total: %v", b)
	}
	// A _count over the maximum is cut to it.
	if _, _, b := get(t, srv, "GET", "/fhir/AuditEvent?_count=100000"); len(ids(t, b)) != n {
		t.Fatalf("_count=100000: %d entries", len(ids(t, b)))
	}
}

// TestGolden pins the shape of a searchset.
func TestGolden(t *testing.T) {
	srv, _ := newServer(t, auditapi.Options{Base: "https://hub.example.jp/fhir"})
	resp, err := srv.Client().Get(srv.URL + "/fhir/AuditEvent?patient=Patient/p1&date=ge2026-11-02&_count=2&_total=accurate&_pretty=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	got.ReadFrom(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Content-Type %q, Cache-Control %q", ct, resp.Header.Get("Cache-Control"))
	}
	golden := filepath.Join("testdata", "search.golden.json")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("the searchset differs from %s (go test -update rewrites it):\n%s", golden, got.Bytes())
	}
	obj, err := fhir.ParseObject(got.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if issues := fhir.Validate(obj); issues != nil {
		t.Fatalf("the searchset is no valid Bundle: %+v", issues)
	}
}

func TestRead(t *testing.T) {
	srv, recs := newServer(t, auditapi.Options{})
	for _, path := range []string{"/fhir/AuditEvent/20", "/fhir/AuditEvent/20/_history/1"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != `W/"1"` ||
			resp.Header.Get("Last-Modified") != recs[19].Time.Format(http.TimeFormat) {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
		got, err := fhir.ParseObject(body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if issues := fhir.Validate(got); issues != nil {
			t.Fatalf("%s is no valid AuditEvent: %+v\n%s", path, issues, body.Bytes())
		}
		meta := got.Object("meta")
		if got.String("id") != "20" || got.Members[1].Key != "id" || meta == nil || meta.String("versionId") != "1" ||
			meta.String("lastUpdated") != "2026-11-01T05:00:00.000000005Z" {
			t.Fatalf("%s: id and meta:\n%s", path, body.Bytes())
		}
		// But for id and meta, the event as stored.
		got.Delete("id")
		got.Delete("meta")
		stored, _ := fhir.ParseObject(recs[19].Event)
		if !fhir.Equal(got, stored) {
			t.Fatalf("%s: the event differs from the stored one:\n%s\n%s", path, body.Bytes(), recs[19].Event)
		}
		// Resource, as export writes it, is the same.
		exported, err := auditapi.Resource(recs[19])
		if err != nil {
			t.Fatal(err)
		}
		if exp, _ := fhir.ParseObject(exported); !fhir.Equal(exp, mustParse(t, body.Bytes())) {
			t.Fatalf("Resource:\n%s\nwant\n%s", exported, body.Bytes())
		}
	}
	if status, h, _ := get(t, srv, "HEAD", "/fhir/AuditEvent/3"); status != 200 || h.Get("ETag") != `W/"1"` {
		t.Fatalf("HEAD: %d %v", status, h)
	}
	for _, path := range []string{
		"/fhir/AuditEvent/61", "/fhir/AuditEvent/0", "/fhir/AuditEvent/-1", "/fhir/AuditEvent/05", "/fhir/AuditEvent/abc",
		"/fhir/AuditEvent/99999999999999999999", "/fhir/AuditEvent/9223372036854775807", "/fhir/AuditEvent/3/_history/2",
		"/fhir/AuditEvent/3/_history", "/fhir/AuditEvent/_history", "/fhir/AuditEvent/3/$validate",
	} {
		if status, _, b := get(t, srv, "GET", path); status != 404 || b["resourceType"] != "OperationOutcome" {
			t.Errorf("GET %s: %d %v, want 404 and an OperationOutcome", path, status, b)
		}
	}
}

func mustParse(t *testing.T, b []byte) *fhir.Object {
	t.Helper()
	o, err := fhir.ParseObject(b)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestErrors(t *testing.T) {
	srv, _ := newServer(t, auditapi.Options{})
	for _, tc := range []struct {
		method, path string
		header       []string
		status       int
		says         string
	}{
		{"GET", "/fhir/AuditEvent?name=x", nil, 400, `unknown search parameter "name"`},
		{"GET", "/fhir/AuditEvent?patient.name=x", nil, 400, "unknown search parameter"},
		{"GET", "/fhir/AuditEvent?_summary=count", nil, 400, "unknown search parameter"},
		{"GET", "/fhir/AuditEvent?patient:missing=true", nil, 400, "modifier"},
		{"GET", "/fhir/AuditEvent?patient=", nil, 400, "empty value"},
		{"GET", "/fhir/AuditEvent?patient=Observation/1", nil, 400, "Patient reference"},
		{"GET", "/fhir/AuditEvent?action=read", nil, 400, "C, R, U, D, E"},
		{"GET", "/fhir/AuditEvent?outcome=1", nil, 400, "0, 4, 8, 12"},
		{"GET", "/fhir/AuditEvent?type=http://x|", nil, 400, "system without a code"},
		{"GET", "/fhir/AuditEvent?date=yesterday", nil, 400, "not a date"},
		{"GET", "/fhir/AuditEvent?date=2026-02-30", nil, 400, "not a valid date"},
		{"GET", "/fhir/AuditEvent?date=ne2026-11-01", nil, 400, "prefix"},
		{"GET", "/fhir/AuditEvent?_sort=_id", nil, 400, "date and -date"},
		{"GET", "/fhir/AuditEvent?_count=x", nil, 400, "_count"},
		{"GET", "/fhir/AuditEvent?_total=maybe", nil, 400, "_total"},
		{"GET", "/fhir/AuditEvent?_cursor=abc", nil, 400, "_cursor"},
		{"GET", "/fhir/AuditEvent?_id=1,2", nil, 400, "_id"},
		{"GET", "/fhir/AuditEvent?_format=xml", nil, 406, "_format"},
		{"GET", "/fhir/AuditEvent", []string{"Accept", "application/fhir+xml"}, 406, "Accept"},
		{"POST", "/fhir/AuditEvent", nil, 405, "append-only"},
		{"POST", "/fhir/AuditEvent/_search", nil, 405, "append-only"},
		{"PUT", "/fhir/AuditEvent/1", nil, 405, "append-only"},
		{"PATCH", "/fhir/AuditEvent/1", nil, 405, "append-only"},
		{"DELETE", "/fhir/AuditEvent/1", nil, 405, "append-only"},
		{"DELETE", "/fhir/AuditEvent?patient=Patient/p1", nil, 405, "append-only"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, h, b := get(t, srv, tc.method, tc.path, tc.header...)
			if status != tc.status || b["resourceType"] != "OperationOutcome" {
				t.Fatalf("%d %v, want %d and an OperationOutcome", status, b, tc.status)
			}
			if diag := fmt.Sprint(b["issue"]); !strings.Contains(diag, tc.says) {
				t.Fatalf("issue %s does not say %q", diag, tc.says)
			}
			if status == 405 && h.Get("Allow") != "GET, HEAD" {
				t.Fatalf("Allow %q", h.Get("Allow"))
			}
		})
	}
	// Paths of other resource types are not the handler's.
	if resp, err := srv.Client().Get(srv.URL + "/fhir/AuditEventX"); err != nil || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("/fhir/AuditEventX: %v %v", resp, err)
	}
}

// TestInternalError: what the store says when it fails is logged, not
// shown.
func TestInternalError(t *testing.T) {
	h := auditapi.New(failing{}, "/fhir", auditapi.Options{})
	for _, path := range []string{"/fhir/AuditEvent?patient=p1", "/fhir/AuditEvent/1", "/fhir/AuditEvent?_total=accurate"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") || !strings.Contains(rec.Body.String(), "OperationOutcome") {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

type failing struct{}

func (failing) SearchAudit(context.Context, karte.AuditQuery) ([]karte.AuditRecord, error) {
	return nil, karte.Errorf(karte.Internal, "the secret table is broken")
}

func (failing) CountAudit(context.Context, karte.AuditQuery) (int64, error) {
	return 0, karte.Errorf(karte.Internal, "the secret table is broken")
}
