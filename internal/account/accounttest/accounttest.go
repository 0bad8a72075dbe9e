// Package accounttest is the conformance suite of karte.AccountStore, run
// by each storage engine's tests.
package accounttest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"kartehub/internal/karte"
)

// Run runs the suite; open returns an empty store, closed by the test's
// cleanup.
func Run(t *testing.T, open func(t *testing.T) karte.AccountStore) {
	t.Run("AccountRoundTrip", func(t *testing.T) { testAccountRoundTrip(t, open(t)) })
	t.Run("AccountConflicts", func(t *testing.T) { testAccountConflicts(t, open(t)) })
	t.Run("AccountUpdate", func(t *testing.T) { testAccountUpdate(t, open(t)) })
	t.Run("AccountConcurrentUpdates", func(t *testing.T) { testConcurrentUpdates(t, open(t)) })
	t.Run("AccountList", func(t *testing.T) { testAccountList(t, open(t)) })
	t.Run("ClientRoundTrip", func(t *testing.T) { testClientRoundTrip(t, open(t)) })
	t.Run("ClientUpdateAndList", func(t *testing.T) { testClientUpdateAndList(t, open(t)) })
}

var t0 = time.Date(2026, 4, 1, 9, 30, 15, 123_000_000, time.UTC)

// Full returns an account with every field set.
func Full(id, login string) *karte.Account {
	return &karte.Account{
		ID:                 id,
		Login:              login,
		Name:               "山田 太郎",
		Person:             "Practitioner/123",
		Roles:              []string{karte.RolePhysician, karte.RoleResearcher},
		Facilities:         []string{"hub", "clinic-07"},
		PasswordHash:       "$argon2id$v=19$m=47104,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		TOTPSecret:         "v1:sealed",
		TOTPEnabled:        true,
		TOTPLastStep:       59_000_000,
		MustChangePassword: true,
		FailedLogins:       3,
		LockedUntil:        t0.Add(15 * time.Minute),
		LastLogin:          t0.Add(-time.Hour),
		Disabled:           true,
		ExpiresAt:          t0.AddDate(1, 0, 0),
		Created:            t0.AddDate(0, -1, 0),
		Updated:            t0,
	}
}

func mustCreate(t *testing.T, st karte.AccountStore, a *karte.Account) {
	t.Helper()
	if err := st.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", a.Login, err)
	}
}

func wantKind(t *testing.T, what string, err error, k karte.Kind) {
	t.Helper()
	if !karte.IsKind(err, k) {
		t.Fatalf("%s: got %v (kind %v), want kind %v", what, err, karte.KindOf(err), k)
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		// JSON shows every field; %v would print an account as its String.
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func testAccountRoundTrip(t *testing.T, st karte.AccountStore) {
	ctx := t.Context()
	a := Full("a1", "yamada")
	mustCreate(t, st, a)
	if a.Version != 1 {
		t.Fatalf("Version after create = %d, want 1", a.Version)
	}
	got, err := st.Account(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Account", got, a)
	got, err = st.AccountByLogin(ctx, "yamada")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "AccountByLogin", got, a)

	// The zero values come back as zero values: no times, no lists.
	b := &karte.Account{ID: "a2", Login: "minimal", Created: t0, Updated: t0}
	mustCreate(t, st, b)
	got, err = st.Account(ctx, "a2")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "minimal account", got, b)

	_, err = st.Account(ctx, "nobody")
	wantKind(t, "Account(unknown)", err, karte.NotFound)
	_, err = st.AccountByLogin(ctx, "nobody")
	wantKind(t, "AccountByLogin(unknown)", err, karte.NotFound)
	_, err = st.AccountByLogin(ctx, "YAMADA")
	wantKind(t, "AccountByLogin is exact", err, karte.NotFound)
}

func testAccountConflicts(t *testing.T, st karte.AccountStore) {
	ctx := t.Context()
	mustCreate(t, st, Full("a1", "one"))
	wantKind(t, "same id", st.CreateAccount(ctx, Full("a1", "two")), karte.Conflict)
	wantKind(t, "same login", st.CreateAccount(ctx, Full("a2", "one")), karte.Conflict)
	wantKind(t, "no id", st.CreateAccount(ctx, Full("", "three")), karte.Invalid)
	wantKind(t, "no login", st.CreateAccount(ctx, Full("a3", "")), karte.Invalid)
	list, err := st.Accounts(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Accounts after refused creates: %d, %v; want just the first", len(list), err)
	}
}

func testAccountUpdate(t *testing.T, st karte.AccountStore) {
	ctx := t.Context()
	a := Full("a1", "one")
	mustCreate(t, st, a)
	mustCreate(t, st, Full("a2", "two"))

	a.FailedLogins = 4
	a.Roles = nil
	a.LockedUntil = time.Time{}
	if err := st.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.Version != 2 {
		t.Fatalf("Version after update = %d, want 2", a.Version)
	}
	got, err := st.Account(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "after update", got, a)

	stale := *got
	stale.Version = 1
	stale.FailedLogins = 99
	wantKind(t, "stale update", st.UpdateAccount(ctx, &stale), karte.Conflict)
	if got, _ := st.Account(ctx, "a1"); got.FailedLogins != 4 {
		t.Fatalf("a stale update changed the account: FailedLogins = %d", got.FailedLogins)
	}

	missing := Full("nobody", "nobody")
	missing.Version = 1
	wantKind(t, "update unknown", st.UpdateAccount(ctx, missing), karte.NotFound)

	taken := *got
	taken.Login = "two"
	wantKind(t, "rename to a taken login", st.UpdateAccount(ctx, &taken), karte.Conflict)
}

// testConcurrentUpdates: read-modify-write loops that retry on Conflict
// lose no increment, as Authenticate relies on to count failures.
func testConcurrentUpdates(t *testing.T, st karte.AccountStore) {
	ctx := t.Context()
	mustCreate(t, st, &karte.Account{ID: "a1", Login: "busy", Created: t0, Updated: t0})
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if err := increment(ctx, st, "a1"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	a, err := st.Account(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if a.FailedLogins != workers*each || a.Version != 1+workers*each {
		t.Fatalf("after %d increments: FailedLogins %d, Version %d", workers*each, a.FailedLogins, a.Version)
	}
}

func increment(ctx context.Context, st karte.AccountStore, id string) error {
	for range 1000 {
		a, err := st.Account(ctx, id)
		if err != nil {
			return err
		}
		a.FailedLogins++
		err = st.UpdateAccount(ctx, a)
		if !karte.IsKind(err, karte.Conflict) {
			return err
		}
	}
	return fmt.Errorf("increment %s: too many conflicts", id)
}

func testAccountList(t *testing.T, st karte.AccountStore) {
	ctx := t.Context()
	list, err := st.Accounts(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("Accounts of an empty store: %v, %v", list, err)
	}
	for i, login := range []string{"suzuki", "abe", "tanaka", "Zed"} {
		mustCreate(t, st, Full(fmt.Sprint("id", i), login))
	}
	list, err = st.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var logins []string
	for _, a := range list {
		logins = append(logins, a.Login)
	}
	same(t, "Accounts order", logins, []string{"Zed", "abe", "suzuki", "tanaka"})
	same(t, "listed account", list[1], func() *karte.Account { a := Full("id1", "abe"); a.Version = 1; return a }())
}

// FullClient returns a client with every field set.
func FullClient(id, name string) *karte.Client {
	return &karte.Client{
		ID:         id,
		Name:       name,
		Kind:       karte.ClientSystem,
		Roles:      []string{karte.RoleTechnologist},
		Facilities: []string{"hub"},
		SecretHash: "$argon2id$v=19$m=47104,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		JWKS:       []byte(`{"keys":[]}`),
		Disabled:   true,
		ExpiresAt:  t0.AddDate(0, 6, 0),
		Created:    t0,
		Updated:    t0.Add(time.Second),
	}
}

func testClientRoundTrip(t *testing.T, st karte.AccountStore) {
	ctx := t.Context()
	c := FullClient("kh-1", "lab system")
	if err := st.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 {
		t.Fatalf("Version after create = %d, want 1", c.Version)
	}
	got, err := st.Client(ctx, "kh-1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Client", got, c)

	m := &karte.Client{ID: "kh-2", Name: "minimal", Created: t0, Updated: t0}
	if err := st.CreateClient(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err = st.Client(ctx, "kh-2")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "minimal client", got, m)

	wantKind(t, "same client id", st.CreateClient(ctx, FullClient("kh-1", "other")), karte.Conflict)
	wantKind(t, "no client id", st.CreateClient(ctx, FullClient("", "other")), karte.Invalid)
	_, err = st.Client(ctx, "kh-9")
	wantKind(t, "Client(unknown)", err, karte.NotFound)
}

func testClientUpdateAndList(t *testing.T, st karte.AccountStore) {
	ctx := t.Context()
	for i, name := range []string{"pacs", "lab", "pharmacy", "lab"} {
		if err := st.CreateClient(ctx, FullClient(fmt.Sprint("kh-", i), name)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := st.Client(ctx, "kh-0")
	if err != nil {
		t.Fatal(err)
	}
	c.Disabled = false
	c.JWKS = nil
	c.SecretHash = ""
	if err := st.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := st.Client(ctx, "kh-0")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "after update", got, c)
	stale := *got
	stale.Version = 1
	wantKind(t, "stale client update", st.UpdateClient(ctx, &stale), karte.Conflict)
	missing := FullClient("kh-9", "x")
	missing.Version = 1
	wantKind(t, "update unknown client", st.UpdateClient(ctx, missing), karte.NotFound)

	list, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range list {
		order = append(order, c.Name+"/"+c.ID)
	}
	same(t, "Clients order", order, []string{"lab/kh-1", "lab/kh-3", "pacs/kh-0", "pharmacy/kh-2"})
}

// RunSessions runs the suite of karte.SessionStore; open returns an empty
// store, closed by the test's cleanup.
func RunSessions(t *testing.T, open func(t *testing.T) karte.SessionStore) {
	t.Run("SessionRoundTrip", func(t *testing.T) { testSessionRoundTrip(t, open(t)) })
	t.Run("SessionsExpire", func(t *testing.T) { testSessionsExpire(t, open(t)) })
	t.Run("Revoked", func(t *testing.T) { testRevoked(t, open(t)) })
}

// FullSession returns a session with every field set.
func FullSession(id string) *karte.Session {
	return &karte.Session{
		ID: id, AccountID: "acc-1", Login: "yamada", Name: "山田 太郎", Person: "Practitioner/123",
		AuthTime: t0, ClientID: "emr-viewer", Scope: "openid fhirUser user/*.rs", Patient: "Patient/p1",
		Created: t0, LastUsed: t0.Add(time.Minute), Expires: t0.Add(12 * time.Hour),
		Refresh:    []byte{1, 2, 3, 4},
		OldRefresh: [][]byte{{5, 6}, {7, 8}},
		BreakGlass: &karte.BreakGlass{Reason: "心停止で搬送", Until: t0.Add(time.Hour)},
	}
}

func testSessionRoundTrip(t *testing.T, st karte.SessionStore) {
	ctx := context.Background()
	a, b := FullSession("s-a"), &karte.Session{ID: "s-b", AccountID: "acc-2", Login: "sato", Created: t0, LastUsed: t0, Expires: t0.Add(time.Hour)}
	for _, s := range []*karte.Session{b, a} {
		if err := st.PutSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	a.Refresh, a.OldRefresh, a.LastUsed = []byte{9, 9}, append(a.OldRefresh, []byte{1, 2, 3, 4}), t0.Add(2*time.Minute)
	if err := st.PutSession(ctx, a); err != nil { // replaces
		t.Fatal(err)
	}
	got, err := st.Sessions(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !sameJSON(got[0], a) || !sameJSON(got[1], b) {
		t.Fatalf("Sessions = %s, want [%s %s]", jsonOf(got), jsonOf(a), jsonOf(b))
	}
	if err := st.DeleteSession(ctx, "s-a"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, "s-none"); err != nil {
		t.Fatalf("deleting no session: %v", err)
	}
	if got, err = st.Sessions(ctx, t0); err != nil || len(got) != 1 || got[0].ID != "s-b" {
		t.Fatalf("after delete: %s, %v; want s-b alone", jsonOf(got), err)
	}
}

func testSessionsExpire(t *testing.T, st karte.SessionStore) {
	ctx := context.Background()
	for i, exp := range []time.Duration{time.Minute, time.Hour} {
		if err := st.PutSession(ctx, &karte.Session{ID: fmt.Sprint("s", i), Expires: t0.Add(exp)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Sessions(ctx, t0.Add(time.Minute))
	if err != nil || len(got) != 1 || got[0].ID != "s1" {
		t.Fatalf("at expiry of s0: %s, %v; want s1 alone", jsonOf(got), err)
	}
	// Forgotten, not only hidden.
	if got, err = st.Sessions(ctx, t0); err != nil || len(got) != 1 {
		t.Fatalf("earlier again: %s, %v; want s1 alone", jsonOf(got), err)
	}
}

func testRevoked(t *testing.T, st karte.SessionStore) {
	ctx := context.Background()
	for jti, exp := range map[string]time.Duration{"j1": time.Minute, "j2": time.Hour} {
		if err := st.PutRevoked(ctx, jti, t0.Add(exp)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutRevoked(ctx, "j1", t0.Add(2*time.Minute)); err != nil { // revoked again: the later expiry holds
		t.Fatal(err)
	}
	got, err := st.Revoked(ctx, t0)
	want := map[string]time.Time{"j1": t0.Add(2 * time.Minute), "j2": t0.Add(time.Hour)}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Revoked = %v, %v; want %v", got, err, want)
	}
	if got, err = st.Revoked(ctx, t0.Add(2*time.Minute)); err != nil || len(got) != 1 || got["j2"].IsZero() {
		t.Fatalf("after j1 expired: %v, %v; want j2 alone", got, err)
	}
}

func sameJSON(a, b any) bool { return jsonOf(a) == jsonOf(b) }

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
