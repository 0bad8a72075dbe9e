package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

var _ karte.Searcher = (*Store)(nil)

// Search implements karte.Searcher. The whole search runs in one read
// transaction, so the page, the total and the includes agree.
func (s *Store) Search(ctx context.Context, q *karte.Query) (*karte.SearchResult, error) {
	res := &karte.SearchResult{Total: -1}
	err := s.withReader(ctx, func(c *conn) error {
		if err := c.db.Exec("BEGIN"); err != nil {
			return err
		}
		defer c.db.Exec("COMMIT")
		return search(ctx, c, q, res)
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}

func search(ctx context.Context, c *conn, q *karte.Query, res *karte.SearchResult) error {
	est := func(_ context.Context, st sqlsearch.Statement) (int, error) { return c.countCached(st) }
	plan, err := sqlsearch.Compile(ctx, sqlsearch.SQLite, q, est)
	if err != nil {
		return err
	}
	if q.Total {
		if res.Total, err = c.countCached(plan.Count); err != nil {
			return err
		}
	}
	if q.Explain {
		res.Plan = explain(c, plan)
	}
	if q.Count == 0 {
		return nil
	}
	rids, seqs, err := page(c, plan, q.Count, res)
	if err != nil {
		return err
	}
	found, err := matches(c, rids, seqs)
	if err != nil {
		return err
	}
	for _, m := range found {
		res.Matches = append(res.Matches, m.Resource)
	}
	res.Included, err = sqlsearch.Includes(sqlsearch.SQLite, q, found, sqlsearch.Fetch{Resources: includeFetch(c), Types: typesFetch(c)})
	return err
}

// page runs the page statement and sets res.Next when there is more: the
// statement asks for one row beyond the page to know.
func page(c *conn, plan *sqlsearch.Plan, count int, res *karte.SearchResult) (rids, seqs []int64, err error) {
	var last []any
	more := false
	err = c.eachCached(plan.Page, func(st *sqlite3.Stmt) {
		if len(rids) == count {
			more = true
			return
		}
		rids, seqs = append(rids, st.ColumnInt64(0)), append(seqs, st.ColumnInt64(1))
		last = make([]any, plan.Sorts)
		for i := range last {
			last[i] = columnValue(st, 2+i)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	if more {
		res.Next = sqlsearch.EncodeCursor(last, rids[len(rids)-1])
	}
	return rids, seqs, nil
}

func columnValue(st *sqlite3.Stmt, col int) any {
	switch st.ColumnType(col) {
	case sqlite3.INTEGER:
		return st.ColumnInt64(col)
	case sqlite3.FLOAT:
		return st.ColumnFloat(col)
	case sqlite3.NULL:
		return nil
	}
	return st.ColumnText(col)
}

// selectVersions reads the versions whose seqs a JSON array lists. It does
// what sqlsearch.Versions does in one statement text whatever the number
// of seqs, so that it is prepared once per connection.
const selectVersions = `SELECT ` + versionColumns + ` FROM resource_version v WHERE v.seq IN (SELECT value FROM json_each(?))`

// versions fetches the versions with the given seqs, in that order.
func versions(c *conn, seqs []int64) ([]*karte.Resource, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	list := make([]byte, 0, 16*len(seqs))
	for i, seq := range seqs {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, seq, 10)
	}
	st, err := c.query(selectVersions, "["+string(list)+"]")
	if err != nil {
		return nil, err
	}
	byseq := make(map[int64]*karte.Resource, len(seqs))
	for st.Step() {
		r := scanVersion(st)
		byseq[r.Seq] = r
	}
	err = st.Err()
	if derr := done(st); err == nil {
		err = derr
	}
	out := make([]*karte.Resource, 0, len(seqs))
	for _, seq := range seqs {
		if r := byseq[seq]; r != nil {
			out = append(out, r)
		}
	}
	return out, err
}

// includeFetch runs one include statement and returns what it selects.
func includeFetch(c *conn) func(sqlsearch.Statement) ([]sqlsearch.Match, error) {
	return func(st sqlsearch.Statement) ([]sqlsearch.Match, error) {
		var rids, seqs []int64
		err := c.eachCached(st, func(s *sqlite3.Stmt) {
			rids, seqs = append(rids, s.ColumnInt64(0)), append(seqs, s.ColumnInt64(1))
		})
		if err != nil {
			return nil, err
		}
		return matches(c, rids, seqs)
	}
}

// typesFetch runs a statement that selects type names.
func typesFetch(c *conn) func(sqlsearch.Statement) ([]string, error) {
	return func(st sqlsearch.Statement) ([]string, error) {
		var types []string
		err := c.eachCached(st, func(s *sqlite3.Stmt) { types = append(types, s.ColumnText(0)) })
		return types, err
	}
}

// matches fetches the versions of seqs, paired with their rids.
func matches(c *conn, rids, seqs []int64) ([]sqlsearch.Match, error) {
	vs, err := versions(c, seqs)
	if err != nil {
		return nil, err
	}
	if len(vs) != len(rids) {
		return nil, fmt.Errorf("search: %d versions for %d resources", len(vs), len(rids))
	}
	out := make([]sqlsearch.Match, len(vs))
	for i, v := range vs {
		out[i] = sqlsearch.Match{RID: rids[i], Resource: v}
	}
	return out, nil
}

// explain describes the plan: the planner's notes and SQLite's own plan of
// the page statement.
func explain(c *conn, plan *sqlsearch.Plan) string {
	var b strings.Builder
	for _, n := range plan.Notes {
		b.WriteString(n + "\n")
	}
	b.WriteString("sqlite:\n")
	c.each(sqlsearch.Statement{SQL: "EXPLAIN QUERY PLAN " + plan.Page.SQL, Args: plan.Page.Args}, func(st *sqlite3.Stmt) {
		b.WriteString("  " + st.ColumnText(3) + "\n")
	})
	return b.String()
}

var _ karte.TxSearcher = (*tx)(nil)

// Search implements karte.TxSearcher on the writer connection, which sees
// the transaction's own writes.
func (t *tx) Search(ctx context.Context, q *karte.Query) (*karte.SearchResult, error) {
	res := &karte.SearchResult{Total: -1}
	if err := search(ctx, t.c, q, res); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}
