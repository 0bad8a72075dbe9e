package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
)

// Store is a karte.Store kept in a PostgreSQL database. It is safe for
// concurrent use, also by several processes on one database.
type Store struct {
	pool *pgxpool.Pool
	// epochs holds the rows of the audit index's epoch being indexed.
	epochs auditblock.EpochCache
}

var _ karte.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as pgx parses it), applies the schema migrations it lacks, and
// returns the Store. The database must exist.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, karte.Errorf(karte.Invalid, "postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, karte.Errorf(karte.Unavailable, "postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

var _ karte.Analyzer = (*Store)(nil)

// Analyze implements karte.Analyzer: it refreshes the planner's
// statistics of every table, as autovacuum would some time after a bulk
// load. Until then PostgreSQL plans searches, restricted ones most, from
// the row counts of before the load.
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// Close waits for the connections in use, so for the Writes in flight, to
// be given back, then closes them all.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// versionColumns are the columns scanVersion reads, from resource_version
// aliased v.
const versionColumns = `v.seq, v.type, v.id, v.version, v.last_updated, v.deleted, v.method, v.body,
	coalesce(v.author_kind, ''), coalesce(v.author_id, ''), coalesce(v.author_person, ''),
	coalesce(v.author_name, ''), coalesce(v.author_app, '')`

// selectCurrent reads the current version in one round trip.
const selectCurrent = `SELECT ` + versionColumns + `
FROM resource r JOIN resource_version v ON v.seq = r.seq
WHERE r.type = $1 AND r.id = $2`

// selectVersion reads one version.
const selectVersion = `SELECT ` + versionColumns + `
FROM resource_version v
WHERE v.type = $1 AND v.id = $2 AND v.version = $3`

// scanVersion reads a row of versionColumns, then into extra the columns
// that follow them.
func scanVersion(row pgx.Row, extra ...any) (*karte.Resource, error) {
	var r karte.Resource
	var ms int64
	a := &r.Author
	dest := append([]any{&r.Seq, &r.Type, &r.ID, &r.VersionID, &ms, &r.Deleted, &r.Method, &r.Body,
		&a.Kind, &a.ID, &a.Person, &a.Name, &a.App}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.LastUpdated = time.UnixMilli(ms).UTC()
	return &r, nil
}

// Read returns the current version of a resource: NotFound if it never
// existed, the deletion with Gone if it is deleted.
func (s *Store) Read(ctx context.Context, typ, id string) (*karte.Resource, error) {
	r, err := scanVersion(s.pool.QueryRow(ctx, selectCurrent, typ, id))
	return found(r, err, "read %s/%s", typ, id)
}

// VRead returns one version: NotFound if there is none, a deletion with Gone.
func (s *Store) VRead(ctx context.Context, typ, id string, version int64) (*karte.Resource, error) {
	r, err := scanVersion(s.pool.QueryRow(ctx, selectVersion, typ, id, version))
	return found(r, err, "vread %s/%s/_history/%d", typ, id, version)
}

// found turns the outcome of reading a version into the contract of Read
// and VRead: no row is NotFound, a deletion comes with Gone.
func found(r *karte.Resource, err error, format string, args ...any) (*karte.Resource, error) {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, karte.Errorf(karte.NotFound, format+": not found", args...)
	case err != nil:
		return nil, dbError(err, format, args...)
	case r.Deleted:
		return r, karte.Errorf(karte.Gone, format+": deleted", args...)
	}
	return r, nil
}

// dbError wraps a database error as a *karte.Error: Conflict for a lost
// race that retrying might win, Unavailable when the database cannot be
// reached, Internal otherwise.
func dbError(err error, format string, args ...any) error {
	kind := karte.Internal
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	switch {
	case retryable(err):
		kind = karte.Conflict
	case errors.As(err, &pe):
		// The server answered: a bug or a broken schema, not an outage.
	case errors.As(err, &ce) || pgconn.Timeout(err):
		kind = karte.Unavailable
	}
	return karte.Errorf(kind, "postgres: "+format+": %w", append(args, err)...)
}

// retryable reports whether err is a lost race that running the whole Write
// again may win: a serialisation failure, a deadlock, or a unique violation
// of a version or current-version key (two creators of one new id).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01":
		return true
	case "23505":
		return pe.ConstraintName == "resource_version_key" || pe.ConstraintName == "resource_pkey"
	}
	return false
}
