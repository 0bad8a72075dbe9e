package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
)

// maxAttempts bounds how often Write runs fn when it keeps losing races.
// Losers of a race over one resource queue on its row lock the second time,
// so a handful of attempts is plenty; the bound only stops a livelock.
const maxAttempts = 10

// Write runs fn in one READ COMMITTED transaction and commits it. A lost
// race (see retryable) rolls back and runs fn again, after a short jittered
// pause, up to maxAttempts times.
func (s *Store) Write(ctx context.Context, fn func(karte.Tx) error) error {
	for attempt := 1; ; attempt++ {
		retry, err := s.attempt(ctx, fn)
		if !retry || attempt == maxAttempts {
			return err
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
}

// attempt runs fn once in a transaction and reports whether a lost race
// makes it worth running again.
func (s *Store) attempt(ctx context.Context, fn func(karte.Tx) error) (retry bool, err error) {
	pgtx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return false, dbError(err, "begin")
	}
	// Rollback is a no-op after Commit; it must still reach the server when
	// ctx is what failed.
	defer pgtx.Rollback(context.WithoutCancel(ctx))

	t := &tx{tx: pgtx}
	err = fn(t)
	if t.lost != nil {
		// The race aborted the transaction, whatever fn made of the error.
		if err == nil {
			err = dbError(t.lost, "write")
		}
		return true, err
	}
	if err != nil {
		return false, err
	}
	if err := pgtx.Commit(ctx); err != nil {
		return retryable(err), dbError(err, "commit")
	}
	return false, nil
}

// pause sleeps before attempt+1: a random time up to 1 ms << attempt, capped
// at 64 ms, so that the losers of a race do not meet again at once.
func pause(ctx context.Context, attempt int) error {
	d := rand.N(time.Millisecond << min(attempt, 6))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return karte.Errorf(karte.Unavailable, "postgres: write: %w", ctx.Err())
	}
}

// tx is the karte.Tx of one attempt of a Write.
type tx struct {
	tx pgx.Tx
	// lost is the first lost race a statement ran into. Write retries even
	// if fn went on: PostgreSQL has aborted the transaction, or fn acted on
	// what the race made stale.
	lost error
	// absent holds the resources Current found missing. Nothing exists to
	// lock for them, so another writer may create one before this Put does.
	absent map[resourceKey]bool
}

// resourceKey names a resource.
type resourceKey struct{ typ, id string }

// fail wraps the error of a statement, described by format and args, and
// notes a lost race for Write.
func (t *tx) fail(err error, format string, args ...any) error {
	if retryable(err) && t.lost == nil {
		t.lost = err
	}
	return dbError(err, format, args...)
}

// lockCurrent locks a resource's current-version row. With a row lock,
// READ COMMITTED waits for a concurrent writer of the resource to end and
// then sees what it committed.
const lockCurrent = `SELECT version FROM resource WHERE type = $1 AND id = $2 FOR UPDATE`

// Current locks the resource, then reads its current version.
func (t *tx) Current(ctx context.Context, typ, id string) (*karte.Resource, error) {
	for {
		locked, r, err := t.lockAndRead(ctx, typ, id)
		switch {
		case err != nil:
			return nil, t.fail(err, "current %s/%s", typ, id)
		case r == nil:
			if t.absent == nil {
				t.absent = map[resourceKey]bool{}
			}
			t.absent[resourceKey{typ, id}] = true
			return nil, karte.Errorf(karte.NotFound, "current %s/%s: not found", typ, id)
		case locked:
			return r, nil // deleted or not: Current returns deletions without error
		}
		// Created by another writer between the two statements: lock it now.
	}
}

// lockAndRead locks the resource's current-version row and reads the version
// it points at; r is nil if there is none. The two statements go in one
// round trip, and the read's snapshot is taken once the lock is granted, so
// it sees what the writer the lock waited for committed. locked is false
// if there was no row to lock but the read found one.
func (t *tx) lockAndRead(ctx context.Context, typ, id string) (locked bool, r *karte.Resource, err error) {
	b := &pgx.Batch{}
	b.Queue(lockCurrent, typ, id)
	b.Queue(selectCurrent, typ, id)
	br := t.tx.SendBatch(ctx, b)
	defer br.Close()
	tag, err := br.Exec()
	if err != nil {
		return false, nil, err
	}
	r, err = scanVersion(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil, nil
	}
	return tag.RowsAffected() == 1, r, err
}

// VRead returns one version, as Store.VRead does, seeing this transaction's
// writes.
func (t *tx) VRead(ctx context.Context, typ, id string, version int64) (*karte.Resource, error) {
	r, err := scanVersion(t.tx.QueryRow(ctx, selectVersion, typ, id, version))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, t.fail(err, "vread %s/%s/_history/%d", typ, id, version)
	}
	return found(r, err, "vread %s/%s/_history/%d", typ, id, version)
}

// Lock takes a transaction-scoped advisory lock on a 64-bit hash of key.
// Keys that collide serialise needlessly but correctly.
func (t *tx) Lock(ctx context.Context, key string) error {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key); err != nil {
		return t.fail(err, "lock %q", key)
	}
	return nil
}

// FindByIdentifier returns the ids of current, not deleted resources of typ
// carrying ident, in id order.
func (t *tx) FindByIdentifier(ctx context.Context, typ string, ident karte.Identifier) ([]string, error) {
	rows, _ := t.tx.Query(ctx, `SELECT DISTINCT id FROM resource_identifier
WHERE type = $1 AND value = $2 AND ($3 = '' OR system = $3) ORDER BY id`, typ, ident.Value, ident.System)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, t.fail(err, "find %s by identifier %s|%s", typ, ident.System, ident.Value)
	}
	return ids, nil
}
