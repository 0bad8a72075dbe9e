package sqlite

import (
	"fmt"
	"kartehub/internal/store/sqlsearch"

	"github.com/ncruces/go-sqlite3"
)

// conn is one SQLite connection with its prepared statements, kept for the
// life of the connection because preparing costs more than most queries.
type conn struct {
	db    *sqlite3.Conn
	stmts map[string]*sqlite3.Stmt
	// search keeps the recently used search statements (stmtcache.go).
	search stmtCache
}

// pragmas are set on every connection. synchronous=FULL makes each WAL
// commit durable against power loss, not just a process crash.
var pragmas = []string{
	// 8 KiB pages: fewer write calls per commit than 4 KiB for resource
	// bodies, and less to rewrite than 16 KiB for the many index pages a
	// small transaction touches (measured both ways). It only takes effect
	// on a new database, before WAL is switched on.
	"PRAGMA page_size=8192",
	"PRAGMA journal_mode=WAL",
	"PRAGMA synchronous=FULL",
	"PRAGMA busy_timeout=10000",
	"PRAGMA foreign_keys=OFF",
	"PRAGMA temp_store=MEMORY",
	"PRAGMA cache_size=-65536", // 64 MiB of page cache per connection
}

func openConn(path string) (*conn, error) {
	name, err := uri(path)
	if err != nil {
		return nil, err
	}
	db, err := sqlite3.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for _, p := range pragmas {
		if err := db.Exec(p); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return &conn{db: db, stmts: map[string]*sqlite3.Stmt{}}, nil
}

// stmt returns the prepared statement for query, reset and ready to bind.
func (c *conn) stmt(query string) (*sqlite3.Stmt, error) {
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, _, err := c.db.Prepare(query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	c.stmts[query] = s
	return s, nil
}

// query prepares query, binds args and returns the statement positioned
// before its first row. The caller steps it and must call done.
func (c *conn) query(query string, args ...any) (*sqlite3.Stmt, error) {
	s, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	if err := bind(s, args); err != nil {
		s.Reset()
		return nil, err
	}
	return s, nil
}

// exec runs a statement that returns no rows.
func (c *conn) exec(query string, args ...any) error {
	s, err := c.query(query, args...)
	if err != nil {
		return err
	}
	err = s.Exec()
	s.ClearBindings()
	return err
}

func done(s *sqlite3.Stmt) error {
	err := s.Reset()
	s.ClearBindings()
	return err
}

func bind(s *sqlite3.Stmt, args []any) error {
	for i, a := range args {
		var err error
		switch v := a.(type) {
		case string:
			err = s.BindText(i+1, v)
		case int64:
			err = s.BindInt64(i+1, v)
		case float64:
			err = s.BindFloat(i+1, v)
		case int:
			err = s.BindInt64(i+1, int64(v))
		case bool:
			err = s.BindBool(i+1, v)
		case []byte:
			if v == nil {
				err = s.BindNull(i + 1)
			} else {
				err = s.BindBlob(i+1, v)
			}
		case nil:
			err = s.BindNull(i + 1)
		default:
			err = fmt.Errorf("sqlite: cannot bind %T", a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) close() error {
	for _, s := range c.stmts {
		s.Close()
	}
	c.search.close()
	return c.db.Close()
}

// each runs a statement prepared for this call only, calling fn for every
// row. Search statements go through eachCached instead.
func (c *conn) each(s sqlsearch.Statement, fn func(*sqlite3.Stmt)) error {
	st, _, err := c.db.Prepare(s.SQL)
	if err != nil {
		return fmt.Errorf("prepare %q: %w", s.SQL, err)
	}
	defer st.Close()
	if err := bind(st, s.Args); err != nil {
		return err
	}
	for st.Step() {
		fn(st)
	}
	return st.Err()
}
