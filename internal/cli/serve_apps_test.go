package cli_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kartehub/internal/oauth/oauthtest"
	"kartehub/internal/server/servertest"
)

// TestServeApps: the apps of the --apps file run the SMART login flow for
// a person, with the scopes the file allows them and no others; the
// confidential one only with its key.
func TestServeApps(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	dir := t.TempDir()
	apps := filepath.Join(t.TempDir(), "apps.json")
	key, jwks, err := oauthtest.AppKey("ward-1")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, apps, `[{"client_id": "jp.example.viewer", "client_name": "画像ビューア",
		"redirect_uris": ["https://viewer.example.jp/callback"],
		"scope": "openid fhirUser user/Patient.rs", "token_endpoint_auth_method": "none"},
		{"client_id": "jp.example.ward", "redirect_uris": ["https://ward.example.jp/cb"], "scope": "openid user/*.rs",
		 "token_endpoint_auth_method": "private_key_jwt", "jwks": `+string(jwks)+`}]`)
	// Each login is a person of their own: a person's TOTP codes here
	// come from real time, which accepts one step either side.
	person := func(login string) *oauthtest.User {
		m := oneTime.FindStringSubmatch(mustRun(t, "admin", "user", "add", login, "--name", login, "--role", "physician", "--facility", "hub", "--data", dir))
		if m == nil {
			t.Fatal("user add printed no one-time password")
		}
		return &oauthtest.User{Login: login, Password: m[2], NewPassword: "Correct-Horse-Battery-7", Code: servertest.Codes()}
	}
	user, nurse := person("kato"), person("ito")
	srv := startServe(t, "--data", dir, "--http", "127.0.0.1:0", "--apps", apps)
	app := oauthtest.App{Issuer: strings.TrimSuffix(srv.base, "/fhir"), ClientID: "jp.example.viewer",
		RedirectURI: "https://viewer.example.jp/callback", Scope: "openid user/Patient.rs user/Observation.rs", Client: http.DefaultClient}
	tok, err := oauthtest.Login(t.Context(), app, user)
	if err != nil {
		t.Fatalf("login through the configured app: %v", err)
	}
	if tok.Scope != "openid user/Patient.rs" {
		t.Errorf("granted %q; want the scopes asked for that the file allows", tok.Scope)
	}

	ward := oauthtest.App{Issuer: app.Issuer, ClientID: "jp.example.ward", RedirectURI: "https://ward.example.jp/cb",
		Scope: "openid user/Observation.rs", Client: http.DefaultClient, Key: key, KID: "ward-1"}
	code, verifier, err := oauthtest.Authorize(t.Context(), ward, nurse)
	if err != nil {
		t.Fatalf("login through the confidential app: %v", err)
	}
	keyless := ward
	keyless.Key = nil
	if _, err := oauthtest.Exchange(t.Context(), keyless, code, verifier); err == nil {
		t.Error("the confidential app got tokens without its key")
	}
	if _, err := oauthtest.Exchange(t.Context(), ward, code, verifier); err != nil {
		t.Errorf("the confidential app, with its key: %v", err)
	}

	app.ClientID = "jp.example.unknown"
	if _, _, err := oauthtest.Authorize(t.Context(), app, user); err == nil {
		t.Error("an app not in the file logged in")
	}
}

// TestServeAppsRefused: a file that is not right stops serve before it
// serves, with an error that says what is wrong.
func TestServeAppsRefused(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"not JSON", `{`, "--apps"},
		{"misspelt member", `[{"client_id": "a", "redirect_uri": ["https://a.example/cb"]}]`, "redirect_uri"},
		{"confidential", `[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}]`, "client secrets"},
		{"two values", `[] []`, "more than one"},
		{"no redirect URI", `[{"client_id": "a"}]`, "redirect URI"},
		{"http beyond loopback", `[{"client_id": "a", "redirect_uris": ["http://a.example/cb"]}]`, "loopback"},
		{"system scopes", `[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "scope": "system/*.rs"}]`, "system/"},
		{"keys without private_key_jwt", `[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "jwks": {"keys": []}}]`, "private_key_jwt"},
		{"private_key_jwt without keys", `[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}]`, "jwks"},
		{"no usable key", `[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}]`, "jwks"},
		{"the console's id", `[{"client_id": "kartehub-console", "redirect_uris": ["https://a.example/cb"]}]`, "console"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apps := filepath.Join(t.TempDir(), "apps.json")
			writeFile(t, apps, tc.file)
			err := runServeErr(t, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--apps", apps)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve: %v; want an error naming %q", err, tc.want)
			}
		})
	}
	if err := runServeErr(t, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--apps", filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("serve started without its apps file")
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
