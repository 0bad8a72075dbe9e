package server_test

import (
	"net/http"
	"strings"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server/servertest"
)

// TestOpenAndGuardedRoutes checks what answers without a token: the
// discovery documents, the CapabilityStatement (which names the OAuth
// endpoints) and the health probes; and what does not: the API and the
// job status, which only administrators see.
func TestOpenAndGuardedRoutes(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	anon := &http.Client{}
	for _, path := range []string{"/fhir/metadata", "/fhir/.well-known/smart-configuration", "/.well-known/openid-configuration", "/oauth/jwks", "/healthz", "/readyz"} {
		if r := call(t, anon, "GET", env.URL+path, ""); r.status != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200", path, r.status)
		}
	}
	cs := call(t, anon, "GET", env.Base+"/metadata", "")
	if !strings.Contains(string(cs.body), `"valueUri":"`+env.URL+`/oauth/token"`) || !strings.Contains(string(cs.body), "SMART-on-FHIR") {
		t.Errorf("the CapabilityStatement does not announce the token endpoint: %s", cs.body)
	}
	for _, path := range []string{"/fhir/Patient", "/fhir", "/fhir/_history", "/fhir/Patient/x/$everything", "/fhir/no/such/route", "/jobs"} {
		r := call(t, anon, "GET", env.URL+path, "")
		if r.status != http.StatusUnauthorized || !r.isOutcome() {
			t.Errorf("GET %s without a token: %d %s, want 401 with an OperationOutcome", path, r.status, r.body)
		}
	}
	doc := env.Client(env.ClientToken(t, "system/*.rs", []string{karte.RolePhysician}))
	if r := call(t, doc, "GET", env.URL+"/jobs", ""); r.status != http.StatusForbidden {
		t.Errorf("GET /jobs as a physician: %d, want 403", r.status)
	}
	admin := env.Client(env.ClientToken(t, "system/*.rs", []string{karte.RoleAdministrator}))
	if r := call(t, admin, "GET", env.URL+"/jobs", ""); r.status != http.StatusOK {
		t.Errorf("GET /jobs as an administrator: %d %s, want 200", r.status, r.body)
	}
}

// TestAuditorsSearchTheTrail: the auditor role searches the AuditEvents of
// the log over FHIR; other roles may not, and the search is audited too.
func TestAuditorsSearchTheTrail(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	seed(t, env, orgA, patient("pa", "A"))
	doc := env.Client(env.UserToken(t, "sato", []string{karte.RolePhysician}, []string{"A"}, "user/*.cruds"))
	if r := call(t, doc, "GET", env.Base+"/Patient/pa", ""); r.status != http.StatusOK {
		t.Fatalf("read: %d", r.status)
	}
	if r := call(t, doc, "GET", env.Base+"/AuditEvent?patient=Patient/pa", ""); r.status != http.StatusForbidden || !r.isOutcome() {
		t.Errorf("a physician searching the trail: %d %s, want 403", r.status, r.body)
	}
	auditor := env.Client(env.UserToken(t, "kansa", []string{karte.RoleAuditor}, []string{"A"}, "user/AuditEvent.rs"))
	r := call(t, auditor, "GET", env.Base+"/AuditEvent?patient=Patient/pa&agent=sato&action=R", "")
	if r.status != http.StatusOK {
		t.Fatalf("auditor search: %d %s", r.status, r.body)
	}
	if n := len(r.ids()); n != 1 {
		t.Errorf("the physician's read of Patient/pa: %d events, want 1: %s", n, r.body)
	}
	r = call(t, auditor, "GET", env.Base+"/AuditEvent?agent=kansa", "")
	if r.status != http.StatusOK || len(r.ids()) != 1 {
		t.Errorf("the auditor's own search is not in the trail: %d %s", r.status, r.body)
	}
	if r := call(t, auditor, "DELETE", env.Base+"/AuditEvent/1", ""); r.status < 400 {
		t.Errorf("deleting an AuditEvent: %d", r.status)
	}
}
