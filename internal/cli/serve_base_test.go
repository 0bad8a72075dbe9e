package cli_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeBaseURL: with --base-url, links use the configured base, not
// the Host header a client sends.
func TestServeBaseURL(t *testing.T) {
	const base = "https://hub.example.jp/fhir"
	r := startServe(t, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--base-url", base+"/")
	req, err := http.NewRequest("POST", r.base+"/Patient", strings.NewReader(`{"resourceType":"Patient","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
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
