package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

var _ karte.SessionStore = (*Store)(nil)

// PutSession implements karte.SessionStore.
func (s *Store) PutSession(ctx context.Context, ss *karte.Session) error {
	data, err := json.Marshal(ss)
	if err != nil {
		return err
	}
	return s.Write(ctx, func(kt karte.Tx) error {
		err := kt.(*tx).c.exec(`INSERT INTO oauth_session (id, expires, data) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET expires = excluded.expires, data = excluded.data`,
			ss.ID, ss.Expires.UnixMilli(), string(data))
		if err != nil {
			return fmt.Errorf("store session: %w", err)
		}
		return nil
	})
}

// DeleteSession implements karte.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		if err := kt.(*tx).c.exec(`DELETE FROM oauth_session WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}

// Sessions implements karte.SessionStore.
func (s *Store) Sessions(ctx context.Context, now time.Time) ([]*karte.Session, error) {
	var list []*karte.Session
	err := s.Write(ctx, func(kt karte.Tx) (err error) {
		c := kt.(*tx).c
		if err := c.exec(`DELETE FROM oauth_session WHERE expires <= ?`, now.UnixMilli()); err != nil {
			return err
		}
		list, err = collect(c, `SELECT data FROM oauth_session ORDER BY id`, func(st *sqlite3.Stmt) (*karte.Session, error) {
			ss := new(karte.Session)
			return ss, json.Unmarshal([]byte(st.ColumnText(0)), ss)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	return list, nil
}

// PutRevoked implements karte.SessionStore.
func (s *Store) PutRevoked(ctx context.Context, jti string, expires time.Time) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		err := kt.(*tx).c.exec(`INSERT INTO oauth_revoked (jti, expires) VALUES (?, ?)
			ON CONFLICT (jti) DO UPDATE SET expires = max(expires, excluded.expires)`, jti, expires.UnixMilli())
		if err != nil {
			return fmt.Errorf("store revoked token: %w", err)
		}
		return nil
	})
}

// Revoked implements karte.SessionStore.
func (s *Store) Revoked(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	revoked := map[string]time.Time{}
	err := s.Write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		clear(revoked)
		if err := c.exec(`DELETE FROM oauth_revoked WHERE expires <= ?`, now.UnixMilli()); err != nil {
			return err
		}
		return c.each(sqlsearch.Statement{SQL: `SELECT jti, expires FROM oauth_revoked`}, func(st *sqlite3.Stmt) {
			revoked[st.ColumnText(0)] = milliTime(st, 1)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read revoked tokens: %w", err)
	}
	return revoked, nil
}
