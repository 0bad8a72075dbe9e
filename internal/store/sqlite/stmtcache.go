package sqlite

import (
	"container/list"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/store/sqlsearch"
)

// searchStmtCap is how many prepared search statements a connection keeps.
// A search statement's text depends on the shape of the query (its
// parameters, sort, includes, restriction), not on its values, so the
// searches a server sees over and over share a few texts; preparing one
// costs more than running it for most patient-scoped searches.
const searchStmtCap = 64

// stmtCache keeps a connection's most recently used search statements,
// by text. A statement is out of the cache while it runs, so that a
// search that runs the same text within its own callback prepares a
// second one rather than reset the first.
type stmtCache struct {
	byText map[string]*list.Element // of cached, in lru
	lru    list.List                // front: most recently used
}

type cached struct {
	text string
	st   *sqlite3.Stmt
}

// take returns a prepared statement of text, from the cache if it has an
// idle one.
func (sc *stmtCache) take(c *conn, text string) (*sqlite3.Stmt, error) {
	if e, ok := sc.byText[text]; ok {
		sc.lru.Remove(e)
		delete(sc.byText, text)
		return e.Value.(cached).st, nil
	}
	st, _, err := c.db.Prepare(text)
	return st, err
}

// put returns a statement taken for text to the cache, reset, closing the
// least recently used statement beyond the cache's capacity.
func (sc *stmtCache) put(text string, st *sqlite3.Stmt) {
	if st.Reset() != nil || st.ClearBindings() != nil {
		st.Close()
		return
	}
	if sc.byText == nil {
		sc.byText = map[string]*list.Element{}
	}
	if _, ok := sc.byText[text]; ok { // another was put back meanwhile
		st.Close()
		return
	}
	sc.byText[text] = sc.lru.PushFront(cached{text, st})
	for len(sc.byText) > searchStmtCap {
		e := sc.lru.Back()
		sc.lru.Remove(e)
		old := e.Value.(cached)
		delete(sc.byText, old.text)
		old.st.Close()
	}
}

// close closes every cached statement.
func (sc *stmtCache) close() {
	for e := sc.lru.Front(); e != nil; e = e.Next() {
		e.Value.(cached).st.Close()
	}
	sc.byText, sc.lru = nil, list.List{}
}

// eachCached is each for search statements: it runs s on a statement
// prepared once per connection for its text.
func (c *conn) eachCached(s sqlsearch.Statement, fn func(*sqlite3.Stmt)) error {
	st, err := c.search.take(c, s.SQL)
	if err != nil {
		return err
	}
	defer c.search.put(s.SQL, st)
	if err := bind(st, s.Args); err != nil {
		return err
	}
	for st.Step() {
		fn(st)
	}
	return st.Err()
}

// countCached runs a search statement that returns one number.
func (c *conn) countCached(s sqlsearch.Statement) (int, error) {
	n := 0
	err := c.eachCached(s, func(st *sqlite3.Stmt) { n = st.ColumnInt(0) })
	return n, err
}
