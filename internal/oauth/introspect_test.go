package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"kartehub/internal/audit"
)

// TestIntrospect: a registered system learns whether an access token is
// active now and for whom (RFC 7662); anything Verify refuses is not
// active; only authenticated systems may ask, and every answer is audited.
func TestIntrospect(t *testing.T) {
	e := newEnv(t, nil)
	id, secret := e.system(t, "imaging gateway")
	introspect := func(token string, auth func(*http.Request)) (int, map[string]any) {
		t.Helper()
		resp, body := e.postForm(t, "/oauth/introspect", url.Values{"token": {token}}, auth)
		var m map[string]any
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("introspection may be cached: %q", resp.Header.Get("Cache-Control"))
			}
		}
		return resp.StatusCode, m
	}
	asSystem := func(r *http.Request) { r.SetBasicAuth(id, secret) }

	app := e.app("openid fhirUser user/*.rs offline_access")
	person := e.login(t, e.person(t, "saito"), app.Scope)
	status, m := introspect(person.AccessToken, asSystem)
	if status != 200 || m["active"] != true || m["username"] != "saito" || m["client_id"] != appID ||
		m["scope"] != app.Scope || m["fhirUser"] != "Practitioner/saito" || m["token_type"] != "Bearer" ||
		m["iss"] != e.issuer || m["aud"] != e.issuer+"/fhir" || m["exp"] == nil || m["sub"] == nil || m["sub"] == "" ||
		!slices.Equal(stringList(m["facilities"]), []string{"hub"}) {
		t.Fatalf("a person's token: %d %v", status, m)
	}
	e.rec.want(t, audit.Rest, audit.Success, "token introspected: active")

	sysID, sys := e.systemToken(t, "system/*.rs")
	if status, m = introspect(sys.AccessToken, asSystem); status != 200 || m["active"] != true || m["client_id"] != sysID || m["username"] != nil {
		t.Fatalf("a system's token: %d %v", status, m)
	}

	// Not active: whatever Verify refuses, and what is no access token.
	e.postForm(t, "/oauth/logout", url.Values{}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+person.AccessToken) })
	for name, token := range map[string]string{
		"LoggedOut": person.AccessToken, "RefreshToken": person.RefreshToken, "Garbage": "abc.def.ghi",
		"Forged": e.forge(t, "at+jwt", e.kid(t), map[string]any{"iss": e.issuer, "aud": e.issuer + "/fhir", "exp": 4102444800, "client_id": sysID, "kh_kind": "client", "sub": sysID, "scope": "system/*.rs"}) + "x",
	} {
		if status, m = introspect(token, asSystem); status != 200 || m["active"] != false || len(m) != 1 {
			t.Errorf("%s: %d %v, want only active false", name, status, m)
		}
	}
	e.rec.want(t, audit.Rest, audit.Success, "token introspected: not active")

	// Only systems that authenticate may ask.
	for name, auth := range map[string]func(*http.Request){
		"NoAuthentication": nil,
		"WrongSecret":      func(r *http.Request) { r.SetBasicAuth(id, secret+"x") },
		"PublicApp":        func(r *http.Request) { r.Header.Del("Authorization") },
	} {
		form := url.Values{"token": {sys.AccessToken}}
		if name == "PublicApp" {
			form.Set("client_id", appID)
		}
		resp, body := e.postForm(t, "/oauth/introspect", form, auth)
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d %s, want 401", name, resp.StatusCode, body)
		}
	}
}

// stringList returns a JSON array of strings as a slice.
func stringList(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}
