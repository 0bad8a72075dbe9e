package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
	"kartehub/internal/store/sqlsearch"
)

var _ karte.Store = (*Store)(nil)

//go:embed migrations/*.sql
var recordMigrations embed.FS

//go:embed migrations/trail/*.sql
var trailMigrations embed.FS

// maxBatch bounds how many writes share one commit, so that one commit
// never holds the writer for long.
const maxBatch = 256

// Store is a karte.Store on two SQLite database files: the record
// (resources, their index, accounts, jobs) and, beside it, the audit trail
// (AuditPath). The trail has a file of its own because every commit to a
// file empties the page cache of each connection that reads it: with the
// audit events of reads committed many times a second, reads of the
// record fetched their pages from the file again every time. Each file has
// its own writer, so audit appends do not queue behind writes either.
type Store struct {
	db    *database // the record
	trail *database // the audit trail
	// auditTail is the last audit record this store appended and saw
	// committed (AppendAuditAfter).
	auditTail atomic.Pointer[karte.AuditRecord]
	// epochs holds the rows of the audit index's epoch being indexed.
	epochs auditblock.EpochCache
}

// Open opens (creating if needed) the database file at path and its audit
// trail (AuditPath), and brings their schemas up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	trailPath := AuditPath(path)
	files, err := fs.Sub(trailMigrations, "migrations/trail")
	if err != nil {
		return nil, err
	}
	trail, err := openDatabase(trailPath, schema{files: files}, 2, inline)
	if err != nil {
		return nil, err
	}
	if files, err = fs.Sub(recordMigrations, "migrations"); err != nil {
		trail.close()
		return nil, err
	}
	record := schema{files: files, before: map[int]func(*conn) error{
		trailMoved: func(c *conn) error { return moveTrail(c, trailPath) },
	}}
	db, err := openDatabase(path, record, max(4, 2*runtime.GOMAXPROCS(0)), background)
	if err != nil {
		trail.close()
		return nil, err
	}
	if err := pairTrail(ctx, db, trail, trailPath); err != nil {
		db.close()
		trail.close()
		return nil, err
	}
	return &Store{db: db, trail: trail}, nil
}

// migrate applies the migrations of sch that the database lacks, each in
// its own transaction, in file name order.
func migrate(c *conn, sch schema) error {
	if err := c.db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(sch.files, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if err := refuseNewer(c, len(names)); err != nil {
		return err
	}
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		if err := applyMigration(c, sch, name, v); err != nil {
			return err
		}
	}
	return nil
}

// refuseNewer fails on a database that a later kartehub has migrated
// further than this one knows: its tables may not mean what this one thinks.
func refuseNewer(c *conn, known int) error {
	st, err := c.query(`SELECT coalesce(max(version), 0) FROM schema_migrations`)
	if err != nil {
		return err
	}
	applied := 0
	if st.Step() {
		applied = st.ColumnInt(0)
	}
	if err := done(st); err != nil {
		return err
	}
	if applied > known {
		return fmt.Errorf("the database has schema version %d, newer than this kartehub's %d", applied, known)
	}
	return nil
}

func applyMigration(c *conn, sch schema, name string, version int) error {
	s, err := c.query(`SELECT 1 FROM schema_migrations WHERE version = ?`, version)
	if err != nil {
		return err
	}
	applied := s.Step()
	if err := done(s); err != nil {
		return err
	}
	if applied {
		return nil
	}
	if before := sch.before[version]; before != nil {
		if err := before(c); err != nil {
			return fmt.Errorf("before migration %s: %w", name, err)
		}
	}
	src, err := fs.ReadFile(sch.files, name)
	if err != nil {
		return err
	}
	tx, err := c.db.BeginImmediate()
	if err != nil {
		return err
	}
	if err = c.db.Exec(string(src)); err == nil {
		err = c.exec(`INSERT INTO schema_migrations VALUES (?, ?)`, version, time.Now().UnixMilli())
	}
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("migration %s: %w", name, err)
	}
	return tx.Commit()
}

// withReader runs fn on a pooled reader connection of the record.
func (s *Store) withReader(ctx context.Context, fn func(*conn) error) error {
	return s.db.withReader(ctx, fn)
}

// Read implements karte.Store.
func (s *Store) Read(ctx context.Context, typ, id string) (r *karte.Resource, err error) {
	err = s.withReader(ctx, func(c *conn) error {
		r, err = current(c, typ, id)
		return err
	})
	if err == nil && r.Deleted {
		return r, karte.Errorf(karte.Gone, "%s/%s is deleted", typ, id)
	}
	return r, err
}

// VRead implements karte.Store.
func (s *Store) VRead(ctx context.Context, typ, id string, version int64) (r *karte.Resource, err error) {
	err = s.withReader(ctx, func(c *conn) error {
		r, err = vread(c, typ, id, version)
		return err
	})
	return r, err
}

const versionColumns = `v.type, v.id, v.version, v.last_updated, v.deleted, v.method, v.body, v.seq,
	v.author_kind, v.author_id, v.author_person, v.author_name, v.author_app`

func scanVersion(st *sqlite3.Stmt) *karte.Resource {
	r := &karte.Resource{
		Type:        st.ColumnText(0),
		ID:          st.ColumnText(1),
		VersionID:   st.ColumnInt64(2),
		LastUpdated: time.UnixMilli(st.ColumnInt64(3)).UTC(),
		Deleted:     st.ColumnBool(4),
		Method:      st.ColumnText(5),
		Seq:         st.ColumnInt64(7),
		Author: karte.Author{
			Kind: st.ColumnText(8), ID: st.ColumnText(9), Person: st.ColumnText(10),
			Name: st.ColumnText(11), App: st.ColumnText(12),
		},
	}
	if st.ColumnType(6) != sqlite3.NULL {
		r.Body = st.ColumnBlob(6, nil)
	}
	return r
}

// one runs a query expected to give at most one version.
func one(c *conn, query string, args ...any) (*karte.Resource, error) {
	st, err := c.query(query, args...)
	if err != nil {
		return nil, err
	}
	var r *karte.Resource
	if st.Step() {
		r = scanVersion(st)
	}
	if err := done(st); err != nil {
		return nil, err
	}
	return r, nil
}

func current(c *conn, typ, id string) (*karte.Resource, error) {
	r, err := one(c, `SELECT `+versionColumns+` FROM resource_version v
		WHERE v.rkey = ? AND v.type = ? AND v.id = ? ORDER BY v.version DESC LIMIT 1`, sqlsearch.ResourceKey(typ, id), typ, id)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", typ, id, err)
	}
	if r == nil {
		return nil, karte.Errorf(karte.NotFound, "%s/%s is not known", typ, id)
	}
	return r, nil
}

func vread(c *conn, typ, id string, version int64) (*karte.Resource, error) {
	r, err := one(c, `SELECT `+versionColumns+` FROM resource_version v
		WHERE v.rkey = ? AND v.version = ? AND v.type = ? AND v.id = ?`, sqlsearch.ResourceKey(typ, id), version, typ, id)
	if err != nil {
		return nil, fmt.Errorf("vread %s/%s/_history/%d: %w", typ, id, version, err)
	}
	if r == nil {
		return nil, karte.Errorf(karte.NotFound, "%s/%s has no version %d", typ, id, version)
	}
	if r.Deleted {
		return r, karte.Errorf(karte.Gone, "version %d of %s/%s is a deletion", version, typ, id)
	}
	return r, nil
}

// Close stops the writers after the writes already queued, then closes
// every connection.
func (s *Store) Close() error {
	s.db.close()
	s.trail.close()
	return nil
}

func isConstraint(err error) bool {
	var e *sqlite3.Error
	return errors.As(err, &e) && e.Code() == sqlite3.CONSTRAINT
}
