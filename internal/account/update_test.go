package account_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"kartehub/internal/account"
	"kartehub/internal/karte"
)

func TestUpdateUser(t *testing.T) {
	engines(t, func(t *testing.T, open func(t *testing.T) karte.AccountStore) {
		e := newEnvOn(t, open(t), account.Config{})
		ctx := t.Context()
		pw := e.user(t, "suzuki") // nurse at hub
		v1, _ := e.st.AccountByLogin(ctx, "suzuki")

		// Roles and facilities, checked and normalised as CreateUser does;
		// the fields left nil keep their values.
		a, err := e.svc.UpdateUser(ctx, "Suzuki", account.UserUpdate{
			Roles:      new([]string{"Physician", " nurse", "physician"}),
			Facilities: new([]string{"hub", "Organization/clinic-07", "clinic-07"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Roles, []string{"physician", "nurse"}) || !slices.Equal(a.Facilities, []string{"hub", "clinic-07"}) ||
			a.Name != "Test suzuki" || a.PasswordHash != "" || a.TOTPSecret != "" {
			t.Fatalf("after the update: %+v", *a)
		}
		stored, _ := e.st.AccountByLogin(ctx, "suzuki")
		if stored.Version != v1.Version+1 || !slices.Equal(stored.Roles, a.Roles) || !slices.Equal(stored.Facilities, a.Facilities) ||
			stored.PasswordHash != v1.PasswordHash || !stored.MustChangePassword {
			t.Fatalf("stored after the update: %+v (version %d, was %d)", *stored, stored.Version, v1.Version)
		}

		// Name and person; the person can be removed again.
		if a, err = e.svc.UpdateUser(ctx, "suzuki", account.UserUpdate{Name: new(" 鈴木 花子 "), Person: new("Practitioner/p-7")}); err != nil {
			t.Fatal(err)
		}
		if a.Name != "鈴木 花子" || a.Person != "Practitioner/p-7" || !slices.Equal(a.Roles, []string{"physician", "nurse"}) {
			t.Fatalf("after name and person: %+v", *a)
		}
		if a, err = e.svc.UpdateUser(ctx, "suzuki", account.UserUpdate{Person: new(""), Facilities: new([]string{})}); err != nil {
			t.Fatal(err)
		}
		if a.Person != "" || len(a.Facilities) != 0 {
			t.Fatalf("person and facilities removed: %+v", *a)
		}

		// Nothing to change writes nothing.
		before, _ := e.st.AccountByLogin(ctx, "suzuki")
		for _, u := range []account.UserUpdate{{}, {Roles: new([]string{"physician", "nurse"}), Name: new("鈴木 花子")}} {
			if _, err := e.svc.UpdateUser(ctx, "suzuki", u); err != nil {
				t.Fatal(err)
			}
		}
		if after, _ := e.st.AccountByLogin(ctx, "suzuki"); after.Version != before.Version {
			t.Fatalf("an update without change wrote version %d", after.Version)
		}

		// Refused updates change nothing.
		for _, tt := range []struct {
			name string
			u    account.UserUpdate
			msg  string
		}{
			{"UnknownRole", account.UserUpdate{Roles: new([]string{"nurse", "surgeon"})}, `unknown role "surgeon"`},
			{"NoRole", account.UserUpdate{Roles: new([]string{})}, "at least one role"},
			{"BadFacility", account.UserUpdate{Facilities: new([]string{"hub", "Organization/clinic 7"})}, "want an Organization id"},
			{"BadPerson", account.UserUpdate{Person: new("Patient/1")}, "want a reference such as Practitioner/123"},
			{"NoName", account.UserUpdate{Name: new("  ")}, "a display name is required"},
			{"BadNameWithGoodRoles", account.UserUpdate{Name: new("a\nb"), Roles: new([]string{"clerk"})}, "no control characters"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.UpdateUser(ctx, "suzuki", tt.u)
				if !karte.IsKind(err, karte.Invalid) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("got %v, want Invalid with %q", err, tt.msg)
				}
				if after, _ := e.st.AccountByLogin(ctx, "suzuki"); after.Version != before.Version {
					t.Fatalf("a refused update wrote version %d", after.Version)
				}
			})
		}
		if _, err := e.svc.UpdateUser(ctx, "nobody", account.UserUpdate{Roles: new([]string{"nurse"})}); !karte.IsKind(err, karte.NotFound) {
			t.Fatalf("unknown login: %v", err)
		}

		// The password still works: an update touches the profile only.
		if _, err := e.svc.Authenticate(ctx, "suzuki", pw, ""); err != nil {
			t.Fatalf("login after the updates: %v", err)
		}
	})
}

// racingStore changes an account or a client the first time it is about
// to be updated, as a login or another admin command could meanwhile, so
// that the update meets a Conflict.
type racingStore struct {
	karte.AccountStore
	account func(*karte.Account)
	client  func(*karte.Client)
}

func (s *racingStore) UpdateAccount(ctx context.Context, a *karte.Account) error {
	if fn := s.account; fn != nil {
		s.account = nil
		other, err := s.AccountStore.Account(ctx, a.ID)
		if err != nil {
			return err
		}
		fn(other)
		if err := s.AccountStore.UpdateAccount(ctx, other); err != nil {
			return err
		}
	}
	return s.AccountStore.UpdateAccount(ctx, a)
}

func (s *racingStore) UpdateClient(ctx context.Context, c *karte.Client) error {
	if fn := s.client; fn != nil {
		s.client = nil
		other, err := s.AccountStore.Client(ctx, c.ID)
		if err != nil {
			return err
		}
		fn(other)
		if err := s.AccountStore.UpdateClient(ctx, other); err != nil {
			return err
		}
	}
	return s.AccountStore.UpdateClient(ctx, c)
}

// TestUpdateRetries: an update that meets a concurrent change rereads and
// applies itself again, losing neither change.
func TestUpdateRetries(t *testing.T) {
	engines(t, func(t *testing.T, open func(t *testing.T) karte.AccountStore) {
		st := &racingStore{AccountStore: open(t)}
		e := newEnvOn(t, st, account.Config{})
		ctx := t.Context()
		e.user(t, "tanaka")
		st.account = func(a *karte.Account) { a.FailedLogins = 3 }
		if _, err := e.svc.UpdateUser(ctx, "tanaka", account.UserUpdate{Roles: new([]string{"technologist"})}); err != nil {
			t.Fatal(err)
		}
		a, _ := e.st.AccountByLogin(ctx, "tanaka")
		if a.FailedLogins != 3 || !slices.Equal(a.Roles, []string{"technologist"}) || a.Version != 3 {
			t.Fatalf("after a racing update: failed logins %d, roles %v, version %d", a.FailedLogins, a.Roles, a.Version)
		}

		c, _, err := e.svc.CreateClient(ctx, account.NewClient{Name: "lab", Roles: []string{"technologist"}})
		if err != nil {
			t.Fatal(err)
		}
		st.client = func(c *karte.Client) { c.Disabled = true }
		if _, err := e.svc.UpdateClient(ctx, c.ID, account.ClientUpdate{Facilities: new([]string{"hub"})}); err != nil {
			t.Fatal(err)
		}
		got, _ := e.st.Client(ctx, c.ID)
		if !got.Disabled || !slices.Equal(got.Facilities, []string{"hub"}) || got.Version != 3 {
			t.Fatalf("after a racing update: disabled %v, facilities %v, version %d", got.Disabled, got.Facilities, got.Version)
		}
	})
}

func TestUpdateClient(t *testing.T) {
	engines(t, func(t *testing.T, open func(t *testing.T) karte.AccountStore) {
		e := newEnvOn(t, open(t), account.Config{})
		ctx := t.Context()
		c, secret, err := e.svc.CreateClient(ctx, account.NewClient{
			Name: "lab system", Roles: []string{"technologist"}, Facilities: []string{"hub"},
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.UpdateClient(ctx, " "+c.ID+" ", account.ClientUpdate{
			Roles:      new([]string{"technologist", "Clerk"}),
			Facilities: new([]string{"Organization/hub", "clinic-07"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "lab system" || !slices.Equal(got.Roles, []string{"technologist", "clerk"}) ||
			!slices.Equal(got.Facilities, []string{"hub", "clinic-07"}) || got.SecretHash != "" || got.Version != 2 {
			t.Fatalf("after the update: %+v", *got)
		}
		if got, err = e.svc.UpdateClient(ctx, c.ID, account.ClientUpdate{Name: new("検査システム"), Facilities: new([]string{})}); err != nil {
			t.Fatal(err)
		}
		if got.Name != "検査システム" || len(got.Facilities) != 0 || !slices.Equal(got.Roles, []string{"technologist", "clerk"}) {
			t.Fatalf("after name and facilities: %+v", *got)
		}
		if got, err = e.svc.UpdateClient(ctx, c.ID, account.ClientUpdate{Name: new("検査システム")}); err != nil || got.Version != 3 {
			t.Fatalf("an update without change: version %d, %v", got.Version, err)
		}
		for _, tt := range []struct {
			u   account.ClientUpdate
			msg string
		}{
			{account.ClientUpdate{Roles: new([]string{"root"})}, `unknown role "root"`},
			{account.ClientUpdate{Roles: new([]string{" "})}, `unknown role ""`},
			{account.ClientUpdate{Roles: new([]string{})}, "at least one role"},
			{account.ClientUpdate{Facilities: new([]string{"a/b"})}, "want an Organization id"},
			{account.ClientUpdate{Name: new("")}, "a client name is required"},
		} {
			if _, err := e.svc.UpdateClient(ctx, c.ID, tt.u); !karte.IsKind(err, karte.Invalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("%+v: got %v, want Invalid with %q", tt.u, err, tt.msg)
			}
		}
		if stored, _ := e.st.Client(ctx, c.ID); stored.Version != 3 {
			t.Fatalf("refused updates wrote version %d", stored.Version)
		}
		if _, err := e.svc.UpdateClient(ctx, "kh-nobody", account.ClientUpdate{Roles: new([]string{"clerk"})}); !karte.IsKind(err, karte.NotFound) {
			t.Fatalf("unknown client: %v", err)
		}
		if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret); err != nil {
			t.Fatalf("the secret after the updates: %v", err)
		}
	})
}

func TestFacilityID(t *testing.T) {
	for in, want := range map[string]string{"hub": "hub", " Organization/clinic-07 ": "clinic-07", "org.1": "org.1"} {
		if got, err := account.FacilityID(in); err != nil || got != want {
			t.Errorf("FacilityID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Organization/", "Practitioner/1", "a b", "Organization/hub/_history/1", strings.Repeat("x", 65)} {
		if _, err := account.FacilityID(in); !karte.IsKind(err, karte.Invalid) {
			t.Errorf("FacilityID(%q): got %v, want Invalid", in, err)
		}
	}
}
