package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/oauth/oauthtest"
)

// TestEHRLaunch: an EHR with a valid token names the patient open in it
// and gets a launch parameter; the app it launches with it asks for the
// scope launch and gets that patient in context, once; an unknown, used
// or expired launch opens nothing.
func TestEHRLaunch(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, ehr := e.systemToken(t, "system/*.rs")
	launch := func(token, patient string) (int, string) {
		t.Helper()
		resp, body := e.postForm(t, "/oauth/launch", url.Values{"patient": {patient}}, func(r *http.Request) {
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
		})
		var lr struct {
			Launch    string `json:"launch"`
			ExpiresIn int    `json:"expires_in"`
		}
		if resp.StatusCode == 200 && (json.Unmarshal([]byte(body), &lr) != nil || lr.Launch == "" || lr.ExpiresIn <= 0) {
			t.Fatalf("launch answer %s", body)
		}
		return resp.StatusCode, lr.Launch
	}
	if status, _ := launch("", "p42"); status != 401 {
		t.Fatalf("launch without a token: %d", status)
	}
	if status, _ := launch(ehr.AccessToken, "p42/../x"); status != 400 {
		t.Fatalf("launch with a bad patient id: %d", status)
	}
	_, id := launch(ehr.AccessToken, "Patient/p42")
	e.rec.want(t, audit.Rest, audit.Success, "EHR launch for Patient/p42")

	u := e.person(t, "nakamura")
	app := e.app("openid launch patient/*.rs")
	app.Launch = id
	tok, err := oauthtest.Login(ctx, app, u)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Patient != "p42" || !strings.Contains(" "+tok.Scope+" ", " launch ") || !strings.Contains(tok.Scope, "patient/*.rs") {
		t.Fatalf("tokens of an EHR launch: patient %q, scope %q", tok.Patient, tok.Scope)
	}
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	if err != nil || p.Patient != "p42" {
		t.Fatalf("principal of an EHR launch: %+v, %v", p, err)
	}

	// A launch opens one authorization; an unknown or expired one none.
	_, expired := launch(ehr.AccessToken, "p43")
	e.clock.Add(6 * time.Minute)
	for name, launch := range map[string]string{"Used": id, "Unknown": "no-such-launch", "Expired": expired} {
		app.Launch = launch
		if _, _, err := oauthtest.Authorize(ctx, app, u); err == nil || !strings.Contains(err.Error(), "invalid_request") {
			t.Errorf("%s launch: %v, want invalid_request", name, err)
		}
	}
	// Without the scope launch, a launch parameter is refused; without a
	// launch, the scope launch is not granted.
	_, id = launch(ehr.AccessToken, "p44")
	app.Launch, app.Scope = id, "openid patient/*.rs"
	if _, _, err := oauthtest.Authorize(ctx, app, u); err == nil || !strings.Contains(err.Error(), "invalid_scope") {
		t.Errorf("launch without the scope launch: %v, want invalid_scope", err)
	}
	app.Launch, app.Scope = "", "openid launch user/*.rs"
	if tok := e.login(t, u, app.Scope); strings.Contains(" "+tok.Scope+" ", " launch ") {
		t.Errorf("a standalone launch was granted the scope launch: %q", tok.Scope)
	}
}

// TestEHRLaunchEncounter: an EHR launch may name the encounter open in the
// EHR too; the app's token responses, refreshes and a restart included,
// carry it, and only then is launch/encounter granted.
func TestEHRLaunchEncounter(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, ehr := e.systemToken(t, "system/*.rs")
	launch := func(form url.Values) (int, string) {
		t.Helper()
		resp, body := e.postForm(t, "/oauth/launch", form, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+ehr.AccessToken) })
		var lr struct{ Launch string }
		json.Unmarshal([]byte(body), &lr)
		return resp.StatusCode, lr.Launch
	}
	if status, _ := launch(url.Values{"patient": {"p42"}, "encounter": {"e 1"}}); status != 400 {
		t.Errorf("a bad encounter id: %d, want 400", status)
	}
	_, id := launch(url.Values{"patient": {"p42"}, "encounter": {"Encounter/e7"}})
	e.rec.want(t, audit.Rest, audit.Success, "EHR launch for Patient/p42, Encounter/e7")

	u := e.person(t, "ito")
	u.Code = e.codes(t)
	app := e.app("openid launch launch/encounter patient/*.rs offline_access")
	app.Launch = id
	tok, err := oauthtest.Login(ctx, app, u)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Patient != "p42" || tok.Encounter != "e7" || !strings.Contains(tok.Scope, "launch/encounter") {
		t.Fatalf("tokens: patient %q, encounter %q, scope %q", tok.Patient, tok.Encounter, tok.Scope)
	}
	e.restart(t)
	if tok, err = oauthtest.Refresh(ctx, app, tok.RefreshToken); err != nil || tok.Encounter != "e7" || tok.Patient != "p42" {
		t.Fatalf("refresh after a restart: %+v, %v", tok, err)
	}

	// Without an encounter in the launch, or without a launch, there is
	// no encounter context.
	_, id = launch(url.Values{"patient": {"p42"}})
	app.Launch = id
	if tok, err = oauthtest.Login(ctx, app, u); err != nil || tok.Encounter != "" || strings.Contains(tok.Scope, "launch/encounter") {
		t.Fatalf("a launch without an encounter: %+v, %v", tok, err)
	}
	app.Launch, app.Scope = "", "openid launch/encounter user/*.rs"
	if tok, err = oauthtest.Login(ctx, app, u); err != nil || tok.Encounter != "" || strings.Contains(tok.Scope, "launch/encounter") {
		t.Fatalf("a standalone launch asking for an encounter: %+v, %v", tok, err)
	}
}
