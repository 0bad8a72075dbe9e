package server_test

import (
	"encoding/json"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server/servertest"
)

// TestVersionsKeepAuthor writes a resource as a user, changes it in a
// transaction, and deletes it as a system client: the history names who
// made each version, the deletion included, from the version itself.
func TestVersionsKeepAuthor(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	seed(t, env, orgA)
	user := env.Client(env.UserToken(t, "kato", []string{karte.RolePhysician}, []string{"A"}, "openid fhirUser user/*.cruds"))
	system := env.Client(env.ClientToken(t, "system/*.cruds", []string{karte.RolePhysician}))

	if r := call(t, user, "PUT", env.Base+"/Patient/pa", patient("pa", "A")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"pa","active":false,` +
		`"managingOrganization":{"reference":"Organization/A"}},"request":{"method":"PUT","url":"Patient/pa"}}]}`
	if r := call(t, user, "POST", env.Base, tx); r.status != 200 {
		t.Fatalf("transaction: %d %s", r.status, r.body)
	}
	if r := call(t, system, "DELETE", env.Base+"/Patient/pa", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}

	r := call(t, system, "GET", env.Base+"/Patient/pa/_history", "")
	if r.status != 200 {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	var h struct {
		Entry []struct {
			Request struct {
				Method    string
				Extension []authorExt
			}
		}
	}
	if err := json.Unmarshal(r.body, &h); err != nil {
		t.Fatal(err)
	}
	// The console is the user's own: an author names an app only when
	// the user acts through another one.
	want := []struct{ method, system, id string }{
		{"DELETE", "urn:kartehub:client", ""},
		{"PUT", "urn:kartehub:account", "kato"},
		{"PUT", "urn:kartehub:account", "kato"},
	}
	if len(h.Entry) != len(want) {
		t.Fatalf("history has %d entries, want %d: %s", len(h.Entry), len(want), r.body)
	}
	for i, w := range want {
		e := h.Entry[i].Request
		if e.Method != w.method || len(e.Extension) != 1 {
			t.Fatalf("entry %d: %s with %d extensions, want %s with the author", i, e.Method, len(e.Extension), w.method)
		}
		who, app := e.Extension[0].parts()
		if e.Extension[0].URL != "urn:kartehub:StructureDefinition:version-author" || who == nil {
			t.Fatalf("entry %d: extension %+v", i, e.Extension[0])
		}
		if who.Identifier.System != w.system || (w.id != "" && who.Identifier.Value != w.id) || who.Identifier.Value == "" || app != "" {
			t.Errorf("entry %d (%s): who %+v, app %q; want %s|%s, no app", i, w.method, who, app, w.system, w.id)
		}
	}
}

// authorExt is the version-author extension as a client decodes it.
type authorExt struct {
	URL       string
	Extension []struct {
		URL            string
		ValueReference *authorRef
		ValueString    string
	}
}

type authorRef struct {
	Reference  string
	Identifier struct{ System, Value string }
	Display    string
}

// parts returns the extension's "who" and "app".
func (x authorExt) parts() (who *authorRef, app string) {
	for _, p := range x.Extension {
		switch p.URL {
		case "who":
			who = p.ValueReference
		case "app":
			app = p.ValueString
		}
	}
	return who, app
}
