package postgres_test

import (
	"context"
	"testing"

	"kartehub/internal/account/accounttest"
	"kartehub/internal/karte"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
)

func TestAccountStore(t *testing.T) {
	accounttest.Run(t, func(t *testing.T) karte.AccountStore {
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestSessionStore(t *testing.T) {
	accounttest.RunSessions(t, func(t *testing.T) karte.SessionStore {
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
