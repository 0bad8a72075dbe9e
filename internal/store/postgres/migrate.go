package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kartehub/internal/karte"
)

// migrationFiles are the schema versions, NNNN_name.sql, numbered from 1
// without gaps. A released file is never edited: changes go in a new one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the advisory lock that serialises kartehub servers
// migrating one database at once ("kartehub" in ASCII).
const migrationLockKey = 0x6b61727465687562

// migration is one schema version.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded schema versions in order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql") // sorted
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, name := range names {
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d first in its name", base, i+1)
		}
		sql, err := fs.ReadFile(migrationFiles, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(sql)})
	}
	return ms, nil
}

// migrate brings the database's schema up to date in one transaction, so a
// failed migration leaves the schema as it was. The transaction first takes
// an advisory lock: servers starting together wait for the first and then
// find nothing left to do.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrations()
	if err != nil {
		return karte.Errorf(karte.Internal, "postgres: %w", err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INT PRIMARY KEY,
	applied_at BIGINT NOT NULL -- unix milliseconds
)`); err != nil {
			return err
		}
		var applied int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
			return err
		}
		if applied > len(ms) {
			return fmt.Errorf("the database has schema version %d, newer than this kartehub's %d", applied, len(ms))
		}
		for _, m := range ms[applied:] {
			if err := apply(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return dbError(err, "migrate")
	}
	return nil
}

// apply runs one migration and records it.
func apply(ctx context.Context, tx pgx.Tx, m migration) error {
	// Without arguments pgx uses the simple protocol, which runs a file of
	// several statements.
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return fmt.Errorf("%s: %w", m.name, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at)
VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`, m.version)
	return err
}
