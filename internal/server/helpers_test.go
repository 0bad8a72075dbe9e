package server_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server/servertest"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
)

// engine selects the storage engine under the server: SQLite by default;
// "go test ./internal/server -args -engine=postgres" runs the same tests on
// a new PostgreSQL database each (see pgtest).
var engine = flag.String("engine", "sqlite", "storage engine under test: sqlite or postgres")

// store is what the tests need of an engine: the record, and the audit
// log they read back.
type store interface {
	karte.Store
	karte.AuditLog
}

// openStore opens a new database for one test.
func openStore(t testing.TB) store {
	t.Helper()
	var st store
	var err error
	switch *engine {
	case "sqlite":
		st, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kartehub.db"))
	case "postgres":
		st, err = postgres.Open(context.Background(), pgtest.NewDatabase(t))
	default:
		t.Fatalf("-engine %q: want sqlite or postgres", *engine)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// reply is an HTTP answer with its JSON body decoded.
type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

// call sends one request with the client c and reads the answer.
func call(t testing.TB, c *http.Client, method, url, body string) *reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
		if method == "PATCH" {
			req.Header.Set("Content-Type", "application/json-patch+json")
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &reply{status: resp.StatusCode, header: resp.Header, body: b}
	json.Unmarshal(b, &r.json)
	return r
}

// ids returns the "Type/id" of the entries of a Bundle answer.
func (r *reply) ids() []string {
	var out []string
	entries, _ := r.json["entry"].([]any)
	for _, e := range entries {
		res, _ := e.(map[string]any)["resource"].(map[string]any)
		if res != nil && res["resourceType"] != "OperationOutcome" {
			out = append(out, res["resourceType"].(string)+"/"+res["id"].(string))
		}
	}
	return out
}

// isOutcome reports whether the answer is an OperationOutcome.
func (r *reply) isOutcome() bool { return r.json["resourceType"] == "OperationOutcome" }

// entryStatuses returns the response status of each entry of a
// transaction or batch response.
func (r *reply) entryStatuses() []string {
	var out []string
	entries, _ := r.json["entry"].([]any)
	for _, e := range entries {
		resp, _ := e.(map[string]any)["response"].(map[string]any)
		s, _ := resp["status"].(string)
		out = append(out, s)
	}
	return out
}

// seed writes the resources of the tests through the API, as an
// administrator's system client of every facility.
func seed(t testing.TB, env *servertest.Env, resources ...string) {
	t.Helper()
	c := env.Client(env.ClientToken(t, "system/*.cruds", []string{karte.RolePhysician, karte.RoleAdministrator}))
	for _, res := range resources {
		var head struct{ ResourceType, ID string }
		if err := json.Unmarshal([]byte(res), &head); err != nil {
			t.Fatalf("seed %s: %v", res, err)
		}
		if r := call(t, c, "PUT", env.Base+"/"+head.ResourceType+"/"+head.ID, res); r.status >= 300 {
			t.Fatalf("seed %s/%s: %d %s", head.ResourceType, head.ID, r.status, r.body)
		}
	}
}
