package server_test

import (
	"net/http"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/oauth"
	"kartehub/internal/server"
	"kartehub/internal/server/servertest"
)

// TestBrowserAppsCallTheAPI: a browser app configured with its redirect
// URI may call the API from its origin (the preflight is answered, the
// responses are readable), still only with a token; other origins get no
// such headers.
func TestBrowserAppsCallTheAPI(t *testing.T) {
	st := openStore(t)
	env := servertest.StartWith(t, st, server.Config{Apps: []oauth.App{{ClientID: "jp.example.viewer",
		RedirectURIs: []string{"https://viewer.example.jp/callback"}, Scope: "openid user/*.rs"}}})
	seed(t, env, orgA, patient("pa", "A"))
	const origin = "https://viewer.example.jp"

	req, _ := http.NewRequest("OPTIONS", env.Base+"/Patient/pa", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
	}

	get := func(c *http.Client, from string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", env.Base+"/Patient/pa", nil)
		req.Header.Set("Origin", from)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	doc := env.Client(env.UserToken(t, "sato", []string{karte.RolePhysician}, []string{"A"}, "user/*.rs"))
	if resp := get(doc, origin); resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
		resp.Header.Get("Access-Control-Expose-Headers") == "" {
		t.Errorf("read from the app's origin: %s %v", resp.Status, resp.Header)
	}
	if resp := get(http.DefaultClient, origin); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("read from the app's origin without a token: %s", resp.Status)
	}
	if resp := get(doc, "https://elsewhere.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin may read: %v", resp.Header)
	}
}
