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

// TestServeApps: an app of the --apps file runs the SMART login flow for
// a person, with the scopes the file allows it and no others.
func TestServeApps(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	dir := t.TempDir()
	apps := filepath.Join(t.TempDir(), "apps.json")
	writeFile(t, apps, `[{"client_id": "jp.example.viewer", "client_name": "画像ビューア",
		"redirect_uris": ["https://viewer.example.jp/callback"],
		"scope": "openid fhirUser user/Patient.rs", "token_endpoint_auth_method": "none"}]`)
	m := oneTime.FindStringSubmatch(mustRun(t, "admin", "user", "add", "kato", "--name", "加藤 一郎", "--role", "physician", "--facility", "hub", "--data", dir))
	if m == nil {
		t.Fatal("user add printed no one-time password")
	}
	srv := startServe(t, "--data", dir, "--http", "127.0.0.1:0", "--apps", apps)
	app := oauthtest.App{Issuer: strings.TrimSuffix(srv.base, "/fhir"), ClientID: "jp.example.viewer",
		RedirectURI: "https://viewer.example.jp/callback", Scope: "openid user/Patient.rs user/Observation.rs", Client: http.DefaultClient}
	user := &oauthtest.User{Login: "kato", Password: m[2], NewPassword: "Correct-Horse-Battery-7", Code: servertest.Codes()}
	tok, err := oauthtest.Login(t.Context(), app, user)
	if err != nil {
		t.Fatalf("login through the configured app: %v", err)
	}
	if tok.Scope != "openid user/Patient.rs" {
		t.Errorf("granted %q; want the scopes asked for that the file allows", tok.Scope)
	}

	app.ClientID = "jp.example.unknown"
	if _, err := oauthtest.Login(t.Context(), app, user); err == nil {
		t.Error("an app not in the file logged in")
	}
}

// TestServeAppsRefused: a file that is not right stops serve before it
// serves, with an error that says what is wrong.
func TestServeAppsRefused(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"not JSON", `{`, "--apps"},
		{"misspelt member", `[{"client_id": "a", "redirect_uri": ["https://a.example/cb"]}]`, "redirect_uri"},
		{"confidential", `[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}]`, "public clients"},
		{"two values", `[] []`, "more than one"},
		{"no redirect URI", `[{"client_id": "a"}]`, "redirect URI"},
		{"http beyond loopback", `[{"client_id": "a", "redirect_uris": ["http://a.example/cb"]}]`, "loopback"},
		{"system scopes", `[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "scope": "system/*.rs"}]`, "system/"},
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
