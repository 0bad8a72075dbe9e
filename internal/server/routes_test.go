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
