package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
)

var (
	_ karte.Reindexer = (*Store)(nil)
	_ karte.JobStore  = (*Store)(nil)
)

// lockLive locks a resource's row if version is its current, not deleted
// version, and returns the rid.
const lockLive = `SELECT rid FROM resource WHERE type = $1 AND id = $2 AND version = $3 AND NOT deleted FOR UPDATE`

// Reindex implements karte.Reindexer: under the resource's row lock, so a
// concurrent Put either comes first (and r is no longer current) or waits.
func (s *Store) Reindex(ctx context.Context, r *karte.Resource, ix *karte.Index) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		t := kt.(*tx)
		var rid int64
		err := t.tx.QueryRow(ctx, lockLive, r.Type, r.ID, r.VersionID).Scan(&rid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not current any more: the write that replaced r indexed its own version
		}
		if err != nil {
			return t.fail(err, "reindex %s/%s/_history/%d", r.Type, r.ID, r.VersionID)
		}
		b := &pgx.Batch{}
		b.Queue(deleteIndex, r.Type, r.ID)
		if ix != nil {
			queueIndex(b, r.Type, r.ID, ix)
		}
		br := t.tx.SendBatch(ctx, b)
		for i := 0; err == nil && i < b.Len(); i++ {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return t.fail(err, "reindex %s/%s/_history/%d", r.Type, r.ID, r.VersionID)
		}
		return nil
	})
}

// PutJob implements karte.JobStore. The time is the database's.
func (s *Store) PutJob(ctx context.Context, name string, state []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO job (name, state, updated)
VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated = excluded.updated`, name, state)
	if err != nil {
		return dbError(err, "put job %q", name)
	}
	return nil
}

// DeleteJob implements karte.JobStore.
func (s *Store) DeleteJob(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM job WHERE name = $1`, name); err != nil {
		return dbError(err, "delete job %q", name)
	}
	return nil
}

// Jobs implements karte.JobStore.
func (s *Store) Jobs(ctx context.Context) (map[string][]byte, error) {
	rows, _ := s.pool.Query(ctx, `SELECT name, state FROM job`)
	jobs := map[string][]byte{}
	var name string
	var state []byte
	_, err := pgx.ForEachRow(rows, []any{&name, &state}, func() error {
		jobs[name] = state
		return nil
	})
	if err != nil {
		return nil, dbError(err, "jobs")
	}
	return jobs, nil
}
