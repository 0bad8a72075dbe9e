package sqlite_test

import (
	"path/filepath"
	"testing"

	"kartehub/internal/account/accounttest"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

func TestAccountStore(t *testing.T) {
	accounttest.Run(t, func(t *testing.T) karte.AccountStore {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kartehub.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestSessionStore(t *testing.T) {
	accounttest.RunSessions(t, func(t *testing.T) karte.SessionStore {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kartehub.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
