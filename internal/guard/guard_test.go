package guard_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"kartehub/internal/audit"
	"kartehub/internal/guard"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

// tokens is a Verifier that knows one token; the real one, package oauth,
// has its own tests, and the whole server's are in package server.
type tokens map[string]*karte.Principal

func (ts tokens) Verify(_ context.Context, token string) (*karte.Principal, error) {
	if p, ok := ts[token]; ok {
		return p, nil
	}
	return nil, karte.Errorf(karte.Unauthorized, "unknown token")
}

func fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch karte.KindOf(err) {
	case karte.Unauthorized:
		status = http.StatusUnauthorized
	case karte.Forbidden:
		status = http.StatusForbidden
	case karte.Unavailable:
		status = http.StatusServiceUnavailable
	}
	http.Error(w, err.Error(), status)
}

// served is a handler that reports the principal it was given.
var served = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Served", "yes")
	w.WriteHeader(http.StatusTeapot)
	io.WriteString(w, "served "+karte.PrincipalFrom(r.Context()).Login)
})

// newGuarded returns the guarded handler on a real audit trail in SQLite,
// and the store.
func newGuarded(t *testing.T) (http.Handler, *sqlite.Store) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	w := audit.NewWriter(st, audit.NewChain(key, 100), audit.WriterOptions{})
	t.Cleanup(func() { w.Close(); st.Close() })
	v := tokens{"good": {Kind: karte.PrincipalClient, ID: "c1", Login: "lab"}}
	a := &guard.Auditor{Recorder: w, Fail: fail, Log: nil,
		Classify: func(*http.Request) (karte.Interaction, string) { return karte.InteractionRead, "Patient/1" }}
	return a.Wrap(guard.Authenticate(v, fail, served)), st
}

func get(h http.Handler, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/fhir/Patient/1", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAuthenticate(t *testing.T) {
	h, st := newGuarded(t)
	for _, tc := range []struct {
		auth   string
		status int
		body   string
	}{
		{"Bearer good", http.StatusTeapot, "served lab"},
		{"bearer good", http.StatusTeapot, "served lab"},
		{"", http.StatusUnauthorized, "authentication required"},
		{"Basic Z29vZA==", http.StatusUnauthorized, "must be Bearer"},
		{"Bearer ", http.StatusUnauthorized, "must be Bearer"},
		{"Bearer bad", http.StatusUnauthorized, "unknown token"},
	} {
		rec := get(h, tc.auth)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%q: %d %q, want %d with %q", tc.auth, rec.Code, rec.Body, tc.status, tc.body)
		}
		if rec.Code == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="kartehub"`) {
			t.Errorf("%q: challenge %q", tc.auth, rec.Header().Get("WWW-Authenticate"))
		}
	}
	recs, err := st.AuditRecords(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 {
		t.Fatalf("%d audit records for 6 requests", len(recs))
	}
	if ev := string(recs[5].Event); !strings.Contains(ev, `"outcome":"4"`) || !strings.Contains(ev, "unknown token") {
		t.Errorf("a refused token is audited as %s", ev)
	}
}

// TestResponseHeldUntilAudited: when the audit trail cannot record, the
// response that the handler wrote is never sent.
func TestResponseHeldUntilAudited(t *testing.T) {
	h, st := newGuarded(t)
	if rec := get(h, "Bearer good"); rec.Code != http.StatusTeapot || rec.Header().Get("X-Served") != "yes" {
		t.Fatalf("before: %d", rec.Code)
	}
	st.Close() // the trail can no longer record
	rec := get(h, "Bearer good")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("X-Served") != "" || strings.Contains(rec.Body.String(), "served lab") {
		t.Errorf("with the trail down: %d, headers %v, body %q; want 503 and nothing of the response", rec.Code, rec.Header(), rec.Body)
	}
}
