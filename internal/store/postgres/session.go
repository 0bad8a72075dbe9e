package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
)

var _ karte.SessionStore = (*Store)(nil)

// PutSession implements karte.SessionStore.
func (s *Store) PutSession(ctx context.Context, ss *karte.Session) error {
	data, err := json.Marshal(ss)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO oauth_session (id, expires, data) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET expires = excluded.expires, data = excluded.data`,
		ss.ID, ss.Expires.UnixMilli(), string(data))
	if err != nil {
		return dbError(err, "store session")
	}
	return nil
}

// DeleteSession implements karte.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM oauth_session WHERE id = $1`, id); err != nil {
		return dbError(err, "delete session")
	}
	return nil
}

// Sessions implements karte.SessionStore.
func (s *Store) Sessions(ctx context.Context, now time.Time) ([]*karte.Session, error) {
	if _, err := s.pool.Exec(ctx, `DELETE FROM oauth_session WHERE expires <= $1`, now.UnixMilli()); err != nil {
		return nil, dbError(err, "read sessions")
	}
	rows, _ := s.pool.Query(ctx, `SELECT data FROM oauth_session ORDER BY id COLLATE "C"`)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*karte.Session, error) {
		var data string
		if err := row.Scan(&data); err != nil {
			return nil, err
		}
		ss := new(karte.Session)
		return ss, json.Unmarshal([]byte(data), ss)
	})
	if err != nil {
		return nil, dbError(err, "read sessions")
	}
	return list, nil
}

// PutRevoked implements karte.SessionStore.
func (s *Store) PutRevoked(ctx context.Context, jti string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO oauth_revoked (jti, expires) VALUES ($1, $2)
ON CONFLICT (jti) DO UPDATE SET expires = greatest(oauth_revoked.expires, excluded.expires)`, jti, expires.UnixMilli())
	if err != nil {
		return dbError(err, "store revoked token")
	}
	return nil
}

// Revoked implements karte.SessionStore.
func (s *Store) Revoked(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	if _, err := s.pool.Exec(ctx, `DELETE FROM oauth_revoked WHERE expires <= $1`, now.UnixMilli()); err != nil {
		return nil, dbError(err, "read revoked tokens")
	}
	rows, _ := s.pool.Query(ctx, `SELECT jti, expires FROM oauth_revoked`)
	defer rows.Close()
	revoked := map[string]time.Time{}
	for rows.Next() {
		var jti string
		var ms int64
		if err := rows.Scan(&jti, &ms); err != nil {
			return nil, dbError(err, "read revoked tokens")
		}
		revoked[jti] = time.UnixMilli(ms).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "read revoked tokens")
	}
	return revoked, nil
}
