package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"kartehub/internal/cli"
	"kartehub/internal/karte"
	"kartehub/internal/oauth/oauthtest"
	"net/http"
	"strings"
	"testing"
)

// TestServeBaseURL: with --base-url, links use the configured base, not
// the Host header a client sends.
func TestServeBaseURL(t *testing.T) {
	const base = "https://hub.example.jp/fhir"
	dir := t.TempDir()
	r := startServe(t, "--data", dir, "--http", "127.0.0.1:0", "--base-url", base+"/")
	token := clientToken(t, dir, strings.TrimSuffix(r.base, "/fhir"), "system/Patient.c", karte.RoleClerk)
	req, err := http.NewRequest("POST", r.base+"/Patient", strings.NewReader(`{"resourceType":"Patient","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Host = "attacker.example"
	req.Header.Set("X-Forwarded-Proto", "http")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusCreated || !strings.HasPrefix(loc, base+"/Patient/") {
		t.Errorf("POST: %s, Location %q, want it under %s", resp.Status, loc, base)
	}
}

func TestServeBaseURLRefused(t *testing.T) {
	for _, bad := range []string{"hub.example.jp/fhir", "ftp://hub.example.jp/fhir", "https:///fhir", "https://hub/fhir?x=1"} {
		if err := runServeErr(t, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--base-url", bad); err == nil || !strings.Contains(err.Error(), "--base-url") {
			t.Errorf("--base-url %q: %v, want an error naming --base-url", bad, err)
		}
	}
}

// clientToken registers an API client in the data directory dir with
// "kartehub admin client add", as an operator would, and gets it a token
// from the token endpoint of the server at origin (its OAuth issuer).
func clientToken(t *testing.T, dir, origin, scope string, roles ...string) string {
	t.Helper()
	out := mustRun(t, "admin", "client", "add", "test system", "--role", strings.Join(roles, ","), "--data", dir)
	id, secret := field(out, "client_id:"), field(out, "client_secret:")
	if id == "" || secret == "" {
		t.Fatalf("admin client add printed no id or secret:\n%s", out)
	}
	tok, err := oauthtest.ClientCredentials(context.Background(), http.DefaultClient, origin, id, secret, scope)
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	return tok.AccessToken
}

// field returns the value after label on its line of out.
func field(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestImportURL imports into a running server as an API client: the
// command finds the token endpoint by SMART discovery and gets its own
// token, as a departmental system would.
func TestImportURL(t *testing.T) {
	dir := t.TempDir()
	r := startServe(t, "--data", dir, "--http", "127.0.0.1:0")
	out := mustRun(t, "admin", "client", "add", "importer", "--role", "physician,administrator", "--data", dir)
	id, secret := field(out, "client_id:"), field(out, "client_secret:")
	if _, err := run(t, "import", "--url", r.base, "--client-id", id, "--quiet", "../fhirimport/testdata/tree"); err == nil || !strings.Contains(err.Error(), "client-secret") {
		t.Errorf("import --url without a secret: %v, want an error naming --client-secret", err)
	}
	t.Setenv("KARTEHUB_CLIENT_SECRET", secret)
	if out, err := run(t, "import", "--url", r.base, "--client-id", id, "--quiet", "../fhirimport/testdata/tree"); err != nil {
		t.Fatalf("import --url: %v\n%s", err, out)
	}
	token := clientToken(t, dir, strings.TrimSuffix(r.base, "/fhir"), "system/Patient.rs", karte.RolePhysician)
	req, _ := http.NewRequest("GET", r.base+"/Patient/single-p1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the imported Patient/single-p1: %s", resp.Status)
	}
}

// TestServeDemo: --demo loads facilities, users, a client and patients
// into a new directory, prints how to log in, and the printed client can
// get a token and read the hub's patients only.
func TestServeDemo(t *testing.T) {
	if err := runServeErr(t, "--demo", "--data", t.TempDir(), "--http", "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("--demo beyond loopback: %v, want a refusal", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--demo", "--demo-patients", "5", "--data", t.TempDir(), "--http", "127.0.0.1:0"}, &out, pw)
		pw.Close()
	}()
	base := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := fhirBase.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			go io.Copy(io.Discard, pr)
			break
		}
	}
	if base == "" {
		t.Fatalf("serve --demo did not start: %v\n%s", <-done, out.String())
	}
	defer func() { cancel(); <-done }()
	printed := out.String()
	for _, want := range []string{"physician", "nurse", "auditor", "client_id", "client_secret", "/oauth/token"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the demo does not print %q:\n%s", want, printed)
		}
	}
	id, secret := strings.Fields(field(printed, "  client_id")), strings.Fields(field(printed, "  client_secret"))
	if len(id) != 1 || len(secret) != 1 {
		t.Fatalf("no client id or secret in:\n%s", printed)
	}
	tok, err := oauthtest.ClientCredentials(ctx, http.DefaultClient, strings.TrimSuffix(base, "/fhir"), id[0], secret[0], "system/Patient.rs")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", base+"/Patient?_count=100&_elements=managingOrganization", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var bundle struct {
		Entry []struct {
			Resource struct {
				ManagingOrganization struct{ Reference string }
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&bundle); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("demo patients: %s %v", resp.Status, err)
	}
	if len(bundle.Entry) == 0 {
		t.Error("the demo client sees no patient")
	}
	for _, e := range bundle.Entry {
		if org := e.Resource.ManagingOrganization.Reference; org != "Organization/org-000" {
			t.Errorf("the demo client (the hub's) sees a patient of %s", org)
		}
	}
}
