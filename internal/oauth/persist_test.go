package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"kartehub/internal/oauth"
	"kartehub/internal/oauth/oauthtest"
)

// TestSessionsOutliveRestart: with a session store, a restart keeps
// people's sessions, their refresh tokens (and the reuse detection of the
// old ones) and break-glass grants, and keeps revoked and ended tokens
// refused.
func TestSessionsOutliveRestart(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	app := e.app("openid user/*.rs offline_access")
	kept := e.login(t, e.person(t, "kimura"), app.Scope)
	ended := e.login(t, e.person(t, "kudo"), app.Scope)
	_, sys := e.systemToken(t, "system/*.rs")
	sysID, sysSecret := e.system(t, "revoker")
	revoked, err := oauthtest.ClientCredentials(ctx, e.srv.Client(), e.issuer, sysID, sysSecret, "system/*.rs")
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.postForm(t, "/oauth/revoke", url.Values{"token": {revoked.AccessToken}}, func(r *http.Request) { r.SetBasicAuth(sysID, sysSecret) }); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	refreshed, err := oauthtest.Refresh(ctx, app, kept.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	reason := "救急搬送 / emergency admission"
	if resp, body := e.postForm(t, "/oauth/break-glass", url.Values{"reason": {reason}, "minutes": {"30"}}, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+refreshed.AccessToken)
	}); resp.StatusCode != 200 {
		t.Fatalf("break-glass: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.postForm(t, "/oauth/logout", url.Values{}, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+ended.AccessToken)
	}); resp.StatusCode != 200 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}

	e.clock.Add(2 * time.Minute)
	e.restart(t)

	p, err := e.prov.Verify(ctx, refreshed.AccessToken)
	if err != nil {
		t.Fatalf("a live session after the restart: %v", err)
	}
	if !p.BreakGlass.Active(e.clock.Now()) || p.BreakGlass.Reason != reason {
		t.Fatalf("break-glass grant after the restart: %+v", p.BreakGlass)
	}
	if _, err := e.prov.Verify(ctx, sys.AccessToken); err != nil {
		t.Fatalf("a system's token after the restart: %v", err)
	}
	p, err = e.prov.Verify(ctx, revoked.AccessToken)
	wantUnauthorized(t, p, err, "token revoked")
	p, err = e.prov.Verify(ctx, ended.AccessToken)
	wantUnauthorized(t, p, err, "session ended")
	if _, err := oauthtest.Refresh(ctx, app, ended.RefreshToken); oauthErr(t, err).Code != "invalid_grant" {
		t.Fatalf("refresh of a logged-out session after the restart: %v", err)
	}
	next, err := oauthtest.Refresh(ctx, app, refreshed.RefreshToken)
	if err != nil {
		t.Fatalf("refresh after the restart: %v", err)
	}
	// The token the first refresh replaced, used again: stolen, so the
	// session ends, as it would have without the restart.
	if _, err := oauthtest.Refresh(ctx, app, kept.RefreshToken); oauthErr(t, err).Code != "invalid_grant" {
		t.Fatalf("a superseded refresh token after the restart: %v", err)
	}
	e.restart(t)
	p, err = e.prov.Verify(ctx, next.AccessToken)
	wantUnauthorized(t, p, err, "session ended")
}

// TestIdleSessionEndsAcrossRestart: the idle timer goes on across a
// restart; a session idle too long is not brought back, and leaves the
// store.
func TestIdleSessionEndsAcrossRestart(t *testing.T) {
	e := newEnv(t, func(c *oauth.Config) { c.AccessTokenTTL = 2 * time.Hour })
	ctx := context.Background()
	tok := e.login(t, e.person(t, "hayashi"), "openid user/*.rs")
	e.clock.Add(oauth.DefaultSessionIdle + time.Minute)
	e.restart(t)
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	wantUnauthorized(t, p, err, "session")
	if left, err := e.store.Sessions(ctx, e.clock.Now()); err != nil || len(left) != 0 {
		t.Fatalf("stored sessions after an idle one was dropped: %d, %v", len(left), err)
	}
}

// TestStoredSessionsPruned: a server that runs on deletes the stored
// sessions past their end, though nobody looked them up again.
func TestStoredSessionsPruned(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	u := e.person(t, "ishii")
	e.login(t, u, "openid user/*.rs")
	e.clock.Add(oauth.DefaultSessionMax + time.Hour)
	e.login(t, u, "openid user/*.rs")
	stored, err := e.store.Sessions(ctx, time.Time{})
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored sessions: %d, %v; want the new one alone", len(stored), err)
	}
}
