package oauth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzEndpoints sends arbitrary forms to the token, revocation and
// break-glass endpoints and arbitrary queries to the authorization
// endpoint: none may fail with a server error, and the token endpoint
// must always answer OAuth's error JSON when it refuses.
func FuzzEndpoints(f *testing.F) {
	e := newEnv(f, nil)
	assertion := strings.Join([]string{"eyJhbGciOiJub25lIn0", "eyJpc3MiOiJ4In0", ""}, ".")
	for _, seed := range []struct{ path, body string }{
		{"/oauth/token", "grant_type=client_credentials&scope=system/*.rs"},
		{"/oauth/token", "grant_type=client_credentials&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=" + assertion},
		{"/oauth/token", "grant_type=authorization_code&code=x&code_verifier=y&client_id=" + appID + "&redirect_uri=" + url.QueryEscape(appRedirect)},
		{"/oauth/token", "grant_type=refresh_token&refresh_token=abc&client_id=" + appID},
		{"/oauth/token", "grant_type=password&username=a&password=b"},
		{"/oauth/revoke", "token=abc&token_type_hint=refresh_token"},
		{"/oauth/introspect", "token=a.b.c&client_id=" + appID},
		{"/oauth/launch", "patient=Patient/%2e%2e"},
		{"/oauth/break-glass", "reason=%00&minutes=-1"},
		{"/oauth/authorize", "response_type=code&client_id=" + appID + "&redirect_uri=" + url.QueryEscape(appRedirect) + "&code_challenge=x&code_challenge_method=plain"},
		{"/oauth/authorize", "response_type=token&client_id=unknown&redirect_uri=javascript:alert(1)"},
		{"/oauth/logout", "post_logout_redirect_uri=https://evil.example/&id_token_hint=x.y.z"},
	} {
		f.Add(seed.path, seed.body)
	}
	client := e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/oauth/") || strings.ContainsAny(path, " \r\n#?%") {
			return
		}
		method, target := "POST", e.srv.URL+path
		if path == "/oauth/authorize" || path == "/oauth/logout" {
			method, target = "GET", target+"?"+strings.ReplaceAll(body, "#", "")
		}
		req, err := http.NewRequest(method, target, strings.NewReader(body))
		if err != nil {
			return
		}
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, resp.StatusCode, b)
		}
		if path == "/oauth/token" && resp.StatusCode >= 400 {
			var oe struct{ Error string }
			if err := json.Unmarshal(b, &oe); err != nil || oe.Error == "" {
				t.Fatalf("token endpoint %q: %d without an OAuth error: %s", body, resp.StatusCode, b)
			}
		}
	})
}
