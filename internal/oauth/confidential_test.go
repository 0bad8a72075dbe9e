package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"kartehub/internal/oauth"
	"kartehub/internal/oauth/oauthtest"
)

// confidentialApp configures, beside the tests' public app, a confidential
// app with one P-256 key, and returns it with that key.
func confidentialApp(t *testing.T) (*env, oauthtest.App) {
	t.Helper()
	key, jwks, err := oauthtest.AppKey("app-k1")
	if err != nil {
		t.Fatal(err)
	}
	const id, redirect = "jp.example.ward", "https://ward.example.jp/callback"
	e := newEnv(t, func(c *oauth.Config) {
		c.Apps = append(c.Apps, oauth.App{ClientID: id, RedirectURIs: []string{redirect}, Scope: appScope, JWKS: jwks})
	})
	return e, oauthtest.App{Issuer: e.issuer, ClientID: id, RedirectURI: redirect, Scope: "openid fhirUser offline_access user/*.rs",
		Client: e.srv.Client(), Key: key, KID: "app-k1", Now: e.clock.Now}
}

// TestConfidentialApp: a confidential app gets its tokens, and refreshes
// them, only with a client assertion signed by its key, each used once.
func TestConfidentialApp(t *testing.T) {
	e, app := confidentialApp(t)
	ctx := context.Background()
	u := e.person(t, "sato")
	u.Code = e.codes(t)
	tok, err := oauthtest.Login(ctx, app, u)
	if err != nil {
		t.Fatalf("login with a client assertion: %v", err)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("tokens %+v", tok)
	}
	if tok, err = oauthtest.Refresh(ctx, app, tok.RefreshToken); err != nil {
		t.Fatalf("refresh with a client assertion: %v", err)
	}

	// Without the assertion, with a replayed one, or with another key,
	// the code is refused.
	public := app
	public.Key = nil
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := app
	forged.Key = other
	for name, a := range map[string]oauthtest.App{"client_id alone": public, "another key": forged} {
		code, verifier, err := oauthtest.Authorize(ctx, a, u)
		if err != nil {
			t.Fatal(err)
		}
		_, err = oauthtest.Exchange(ctx, a, code, verifier)
		if oe := oauthErr(t, err); oe.Code != "invalid_client" {
			t.Errorf("%s: %v, want invalid_client", name, err)
		}
	}
	code, verifier, err := oauthtest.Authorize(ctx, app, u)
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := oauthtest.Assertion(app.Key, app.KID, app.ClientID, app.Issuer, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURI},
		"code_verifier": {verifier}, "client_id": {app.ClientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	if resp, body := e.postForm(t, "/oauth/token", form, nil); resp.StatusCode != 200 {
		t.Fatalf("the first use of an assertion: %s %s", resp.Status, body)
	}
	if resp, body := e.postForm(t, "/oauth/token", form, nil); resp.StatusCode != 401 || !strings.Contains(body, "invalid_client") {
		t.Errorf("a replayed assertion: %s %s, want 401 invalid_client", resp.Status, body)
	}

	// The public app may not present an assertion, having no keys.
	pub := e.app(appScope)
	code, verifier, err = oauthtest.Authorize(ctx, pub, u)
	if err != nil {
		t.Fatal(err)
	}
	pub.Key, pub.KID = app.Key, app.KID
	_, err = oauthtest.Exchange(ctx, pub, code, verifier)
	if oe := oauthErr(t, err); oe.Code != "invalid_client" || !strings.Contains(oe.Description, "public app") {
		t.Errorf("an assertion for a public app: %v, want invalid_client", err)
	}
}

// TestConfidentialAppRefusedKeys: an app's keys must be public signing
// keys.
func TestConfidentialAppRefusedKeys(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	private, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k", Algorithm: "ES256"}}})
	for name, jwks := range map[string][]byte{"private key": private, "not JSON": []byte("{"), "no keys": []byte(`{"keys":[]}`)} {
		cfg := newEnv(t, nil).cfg
		cfg.Apps = append(cfg.Apps, oauth.App{ClientID: "x", RedirectURIs: []string{"https://x.example/cb"}, JWKS: jwks})
		if _, err := oauth.New(cfg); err == nil || !strings.Contains(err.Error(), "jwks") {
			t.Errorf("%s: %v, want an error about jwks", name, err)
		}
	}
}
