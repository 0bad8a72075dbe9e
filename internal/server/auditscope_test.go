package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server/servertest"
)

// TestAuditorsSeeTheirFacilities: an auditor sees the events that name a
// patient of their facilities, and those of the people who acted from
// them, however they search and page; another facility's events are
// neither listed nor readable. An auditor of every facility sees all.
func TestAuditorsSeeTheirFacilities(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	seed(t, env, orgA, orgB, patient("pa", "A"), patient("pb", "B"))
	docA := env.UserToken(t, "doc-a", []string{karte.RolePhysician}, []string{"A"}, "user/*.cruds")
	docB := env.Client(env.UserToken(t, "doc-b", []string{karte.RolePhysician}, []string{"B"}, "user/*.cruds"))
	read := func(c *http.Client, path string, want int) {
		t.Helper()
		if r := call(t, c, "GET", env.Base+path, ""); r.status != want {
			t.Fatalf("GET %s: %d, want %d", path, r.status, want)
		}
	}
	read(env.Client(docA), "/Patient/pa", 200) // A's patient, by A's physician
	read(docB, "/Patient/pb", 200)             // B's patient, by B's physician
	read(docB, "/Patient/pa", 403)             // refused: B's physician at A's patient
	breakGlass(t, env, docA, "patient transferred from clinic B, unconscious")
	read(env.Client(docA), "/Patient/pb", 200) // B's patient, by A's physician under break-glass

	auditorA := env.Client(env.UserToken(t, "audit-a", []string{karte.RoleAuditor}, []string{"A"}, "user/AuditEvent.rs"))
	auditorB := env.Client(env.UserToken(t, "audit-b", []string{karte.RoleAuditor}, []string{"B"}, "user/AuditEvent.rs"))
	auditorAB := env.Client(env.UserToken(t, "audit-ab", []string{karte.RoleAuditor}, []string{"A", "B"}, "user/AuditEvent.rs"))

	all := []string{"doc-a:Patient/pa", "doc-b:Patient/pb", "doc-b:Patient/pa", "doc-a:Patient/pb"}
	for _, tc := range []struct {
		name    string
		auditor *http.Client
		query   string
		want    []string
	}{
		{"A", auditorA, "subtype=read", []string{"doc-a:Patient/pa", "doc-b:Patient/pa", "doc-a:Patient/pb"}},
		{"B", auditorB, "subtype=read", []string{"doc-b:Patient/pb", "doc-b:Patient/pa", "doc-a:Patient/pb"}},
		{"A and B", auditorAB, "subtype=read", all},
		{"A, a patient of B", auditorA, "patient=Patient/pb", []string{"doc-a:Patient/pb"}},
		{"B, newest first, a page at a time", auditorB, "subtype=read&_sort=-date&_count=1", []string{"doc-b:Patient/pb", "doc-b:Patient/pa", "doc-a:Patient/pb"}},
		{"A, a page at a time", auditorA, "subtype=read&_count=1", []string{"doc-a:Patient/pa", "doc-b:Patient/pa", "doc-a:Patient/pb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := auditPages(t, tc.auditor, env.Base+"/AuditEvent?"+tc.query)
			if !sameSet(got, tc.want) {
				t.Errorf("sees %v, want %v", got, tc.want)
			}
		})
	}

	// An event of B alone is not readable by A's auditor, even by its id.
	_, ids := auditPages(t, auditorB, env.Base+"/AuditEvent?agent=doc-b&patient=Patient/pb")
	if len(ids) != 1 {
		t.Fatalf("B's own read: %v", ids)
	}
	if r := call(t, auditorA, "GET", env.Base+"/"+ids[0], ""); r.status != http.StatusForbidden || !r.isOutcome() {
		t.Errorf("A's auditor reading %s: %d %s, want 403", ids[0], r.status, r.body)
	}
	if r := call(t, auditorB, "GET", env.Base+"/"+ids[0], ""); r.status != http.StatusOK {
		t.Errorf("B's auditor reading %s: %d", ids[0], r.status)
	}
	// A count under a facility filter would tell how many events the
	// auditor may not see: none is given.
	if r := call(t, auditorA, "GET", env.Base+"/AuditEvent?_total=accurate", ""); r.status != http.StatusOK || r.json["total"] != nil {
		t.Errorf("total for a facility's auditor: %d %v", r.status, r.json["total"])
	}
	if r := call(t, auditorAB, "GET", env.Base+"/AuditEvent?_total=accurate&_count=0", ""); r.json["total"] != nil {
		t.Errorf("total for an auditor of some facilities: %v", r.json["total"])
	}
}

// auditPages follows a search of the trail through its next links and
// returns, for each event that names a patient, "login:Patient/id" (the
// user agent's login), and the ids of all events.
func auditPages(t *testing.T, c *http.Client, url string) (seen, ids []string) {
	t.Helper()
	for page := 0; url != ""; page++ {
		if page > 50 {
			t.Fatal("more than 50 pages")
		}
		r := call(t, c, "GET", url, "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, r.status, r.body)
		}
		ids = append(ids, r.ids()...)
		entries, _ := r.json["entry"].([]any)
		for _, e := range entries {
			ev := e.(map[string]any)["resource"].(map[string]any)
			if s := loginAndPatient(ev); s != "" {
				seen = append(seen, s)
			}
		}
		url = ""
		links, _ := r.json["link"].([]any)
		for _, l := range links {
			if l := l.(map[string]any); l["relation"] == "next" {
				url = l["url"].(string)
			}
		}
	}
	return seen, ids
}

// loginAndPatient returns "login:Patient/id" of an AuditEvent, or "".
func loginAndPatient(ev map[string]any) string {
	login, patient := "", ""
	agents, _ := ev["agent"].([]any)
	for _, a := range agents {
		who, _ := a.(map[string]any)["who"].(map[string]any)
		if id, _ := who["identifier"].(map[string]any); id != nil && a.(map[string]any)["requestor"] == true {
			login, _ = id["value"].(string)
		}
	}
	entities, _ := ev["entity"].([]any)
	for _, e := range entities {
		what, _ := e.(map[string]any)["what"].(map[string]any)
		if ref, _ := what["reference"].(string); strings.HasPrefix(ref, "Patient/") {
			patient = ref
		}
	}
	if login == "" || patient == "" {
		return ""
	}
	return login + ":" + patient
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
