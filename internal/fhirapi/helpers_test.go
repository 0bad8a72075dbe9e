package fhirapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/server/servertest"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
)

// server is a running kartehub HTTP surface on a fresh SQLite file.
type server struct {
	url    string // origin, e.g. http://127.0.0.1:43121
	client *http.Client
}

// engine selects the storage engine under the API. SQLite is the default;
// "go test ./internal/fhirapi -args -engine=postgres" runs the same tests
// on PostgreSQL, one new database per test, on the server that
// KARTEHUB_TEST_POSTGRES names (a DSN allowed to create databases).
var engine = flag.String("engine", "sqlite", "storage engine under test: sqlite or postgres")

// newServer starts kartehub's whole HTTP handler on a new database (by
// default a SQLite file in a temporary directory). Everything is closed
// when the test ends.
func newServer(tb testing.TB) *server {
	tb.Helper()
	var st karte.Store
	var err error
	switch *engine {
	case "sqlite":
		st, err = sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "kartehub.db"))
	case "postgres":
		st, err = postgres.Open(context.Background(), pgtest.NewDatabase(tb))
	default:
		tb.Fatalf("-engine %q: want sqlite or postgres", *engine)
	}
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(logWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env := servertest.Start(tb, st, log) // closed before st: cleanups run last-in first-out
	token := env.ClientToken(tb, "system/*.cruds", apiRoles)
	return &server{url: env.URL, client: env.Client(token)}
}

// apiRoles are the roles of the API client the tests act as: together
// they may write every type the tests write (clinical records, the
// directory, SearchParameters, insurance) and read every type, so that
// system history counts every version, in every facility.
var apiRoles = []string{karte.RolePhysician, karte.RoleClerk, karte.RoleAdministrator, karte.RoleAuditor}

// logWriter sends the server log to the test log, so that internal errors
// show up next to the test that caused them.
type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Logf("server: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// response is an HTTP answer with its body read and, if it is JSON, decoded.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
	json         map[string]any // nil unless the body is a JSON object
}

// h is a header list for do: name, value, name, value...
type h []string

// do sends one request. path is either absolute (http://...) or a path on
// the server such as "/fhir/Patient/1". body, if not empty, is sent as
// application/fhir+json unless headers set another Content-Type.
func (s *server) do(tb testing.TB, method, path, body string, headers h) *response {
	tb.Helper()
	url := path
	if !strings.HasPrefix(path, "http") {
		url = s.url + path
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	r := &response{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: b}
	if len(b) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			r.json, _ = v.(map[string]any)
		}
	}
	return r
}

// The interactions, for brevity.

func (s *server) get(tb testing.TB, path string, headers ...string) *response {
	tb.Helper()
	return s.do(tb, "GET", path, "", headers)
}

func (s *server) post(tb testing.TB, path, body string, headers ...string) *response {
	tb.Helper()
	return s.do(tb, "POST", path, body, headers)
}

func (s *server) put(tb testing.TB, path, body string, headers ...string) *response {
	tb.Helper()
	return s.do(tb, "PUT", path, body, headers)
}

func (s *server) del(tb testing.TB, path string, headers ...string) *response {
	tb.Helper()
	return s.do(tb, "DELETE", path, "", headers)
}

func (s *server) patch(tb testing.TB, path, body string, headers ...string) *response {
	tb.Helper()
	return s.do(tb, "PATCH", path, body, append(h{"Content-Type", "application/json-patch+json"}, headers...))
}

// mustCreate creates a resource and returns its server-assigned id.
func (s *server) mustCreate(tb testing.TB, typ, body string) string {
	tb.Helper()
	r := s.post(tb, "/fhir/"+typ, body)
	r.wantStatus(tb, http.StatusCreated)
	return r.str(tb, "id")
}

// mustPut writes typ/id with an update and returns the response.
func (s *server) mustPut(tb testing.TB, typ, id, body string) *response {
	tb.Helper()
	r := s.put(tb, "/fhir/"+typ+"/"+id, body)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		tb.Fatalf("PUT %s/%s: status %d, want 200 or 201\n%s", typ, id, r.status, r.body)
	}
	return r
}

// total is the number of versions that the history at path holds.
func (s *server) total(tb testing.TB, path string) int {
	tb.Helper()
	r := s.get(tb, path)
	r.wantStatus(tb, http.StatusOK)
	return r.num(tb, "total")
}

func (r *response) String() string {
	return r.method + " " + r.path + " -> " + strconv.Itoa(r.status)
}

// wantStatus fails the test unless the response has the status.
func (r *response) wantStatus(tb testing.TB, status int) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("%s, want %d\n%s", r, status, r.body)
	}
}

// wantHeader fails the test unless header name has the value.
func (r *response) wantHeader(tb testing.TB, name, want string) {
	tb.Helper()
	if got := r.header.Get(name); got != want {
		tb.Errorf("%s: %s is %q, want %q", r, name, got, want)
	}
}

// wantResource checks that the body is a resource of the type.
func (r *response) wantResource(tb testing.TB, typ string) {
	tb.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		tb.Errorf("%s: Content-Type %q, want application/fhir+json", r, ct)
	}
	if r.json == nil {
		tb.Fatalf("%s: the body is not a JSON object: %q", r, r.body)
	}
	if got := r.json["resourceType"]; got != typ {
		tb.Fatalf("%s: resourceType %v, want %s\n%s", r, got, typ, r.body)
	}
	r.wantValid(tb)
}

// wantOutcome checks an error response: the status, an OperationOutcome
// with at least one issue, an issue with the code and, if expr is not
// empty, an issue located at expr.
func (r *response) wantOutcome(tb testing.TB, status int, code, expr string) {
	tb.Helper()
	r.wantStatus(tb, status)
	checkOutcome(tb, r.String(), r.json, code, expr)
	r.wantValid(tb)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		tb.Errorf("%s: Content-Type %q, want application/fhir+json", r, ct)
	}
}

// checkOutcome checks an OperationOutcome that may also sit in a Bundle.
func checkOutcome(tb testing.TB, where string, oo map[string]any, code, expr string) {
	tb.Helper()
	if oo == nil || oo["resourceType"] != "OperationOutcome" {
		tb.Fatalf("%s: not an OperationOutcome: %v", where, oo)
	}
	issues, _ := oo["issue"].([]any)
	if len(issues) == 0 {
		tb.Fatalf("%s: OperationOutcome without issues: %v", where, oo)
	}
	var codes, exprs []string
	for _, it := range issues {
		is, _ := it.(map[string]any)
		c, _ := is["code"].(string)
		codes = append(codes, c)
		if is["severity"] == nil {
			tb.Errorf("%s: issue without severity: %v", where, is)
		}
		list, _ := is["expression"].([]any)
		for _, e := range list {
			s, _ := e.(string)
			exprs = append(exprs, s)
		}
	}
	if code != "" && !contains(codes, code) {
		tb.Errorf("%s: issue codes %q, want %q\n%v", where, codes, code, oo)
	}
	if expr != "" && !contains(exprs, expr) {
		tb.Errorf("%s: issue expressions %q, want %q\n%v", where, exprs, expr, oo)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// get returns the JSON value at a path such as "entry[0].response.status"
// in the body, or nil.
func (r *response) get(path string) any { return lookup(r.json, path) }

// str returns the string at path, failing the test if there is none.
func (r *response) str(tb testing.TB, path string) string {
	tb.Helper()
	s, ok := r.get(path).(string)
	if !ok {
		tb.Fatalf("%s: no string at %s\n%s", r, path, r.body)
	}
	return s
}

// num returns the integer at path, failing the test if there is none.
func (r *response) num(tb testing.TB, path string) int {
	tb.Helper()
	n, ok := r.get(path).(json.Number)
	if !ok {
		tb.Fatalf("%s: no number at %s\n%s", r, path, r.body)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil {
		tb.Fatalf("%s: %s is %s, not an integer", r, path, n)
	}
	return i
}

// entries returns the entries of a Bundle response.
func (r *response) entries(tb testing.TB) []map[string]any {
	tb.Helper()
	list, _ := r.get("entry").([]any)
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i], _ = e.(map[string]any)
	}
	return out
}

var step = regexp.MustCompile(`^([^\[]+)(?:\[(\d+)\])?$`)

func lookup(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		m := step.FindStringSubmatch(part)
		if m == nil {
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[m[1]]
		if m[2] != "" {
			list, ok := v.([]any)
			i, _ := strconv.Atoi(m[2])
			if !ok || i >= len(list) {
				return nil
			}
			v = list[i]
		}
	}
	return v
}

// str is lookup for strings in decoded JSON.
func str(v any, path string) string {
	s, _ := lookup(v, path).(string)
	return s
}

// instant parses a FHIR instant such as meta.lastUpdated.
func instant(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("%q is not an instant: %v", s, err)
	}
	return t
}

// formatInstant renders t as a FHIR instant with milliseconds.
func formatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// testdata reads a file of testdata/.
func testdata(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// patient returns a Patient body with an identifier; extra members (JSON
// text without braces) are appended.
func patient(system, value string, extra ...string) string {
	members := []string{`"resourceType":"Patient"`}
	if value != "" {
		members = append(members, `"identifier":[{"system":"`+system+`","value":"`+value+`"}]`)
	}
	members = append(members, extra...)
	return "{" + strings.Join(members, ",") + "}"
}

const sys = "urn:oid:1.2.392.100495.20.3.51.11311234567"

// wantValid checks that the body is a valid FHIR R4 resource: what the
// server writes must pass the validation it applies to what it reads.
func (r *response) wantValid(tb testing.TB) {
	tb.Helper()
	res, err := fhir.ParseObject(r.body)
	if err != nil {
		tb.Fatalf("%s: %v", r, err)
	}
	for _, is := range fhir.Validate(res) {
		tb.Errorf("%s: invalid response: %s: %s", r, is.Expression, is.Diagnostics)
	}
}
