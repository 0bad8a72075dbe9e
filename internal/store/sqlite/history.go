package sqlite

import (
	"context"
	"fmt"
	"strings"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

const (
	defaultHistoryCount = 50
	maxHistoryCount     = 1000
)

// History implements karte.Store.
func (s *Store) History(ctx context.Context, q karte.HistoryQuery) (*karte.HistoryPage, error) {
	where, args := historyFilter(q)
	count := q.Count
	if count <= 0 {
		count = defaultHistoryCount
	}
	count = min(count, maxHistoryCount)
	page := &karte.HistoryPage{}
	err := s.withReader(ctx, func(c *conn) error {
		// One read transaction, so that the total and the page come from
		// the same snapshot.
		if err := c.db.Exec("BEGIN"); err != nil {
			return err
		}
		defer c.db.Exec("COMMIT")
		st, err := c.query(`SELECT count(*) FROM resource_version v`+where, args...)
		if err != nil {
			return err
		}
		if st.Step() {
			page.Total = st.ColumnInt(0)
		}
		if err := done(st); err != nil {
			return err
		}
		pageWhere, pageArgs := where, args
		if q.Before > 0 {
			pageWhere += " AND v.seq < ?"
			pageArgs = append(pageArgs[:len(pageArgs):len(pageArgs)], q.Before)
		}
		st, err = c.query(`SELECT `+versionColumns+` FROM resource_version v`+pageWhere+
			` ORDER BY v.seq DESC LIMIT ?`, append(pageArgs, count+1)...)
		if err != nil {
			return err
		}
		for st.Step() {
			page.Versions = append(page.Versions, scanVersion(st))
		}
		return done(st)
	})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if len(page.Versions) > count {
		page.Versions = page.Versions[:count]
		page.Next = page.Versions[count-1].Seq
	}
	return page, nil
}

// historyFilter turns q into a WHERE clause on resource_version v.
func historyFilter(q karte.HistoryQuery) (string, []any) {
	conds := []string{"1 = 1"}
	var args []any
	switch {
	case q.ID != "":
		// The unary + keeps SQLite off the (type, seq) index, which would
		// walk every version of the type to find one resource's.
		conds = append(conds, "v.rkey = ? AND +v.type = ? AND v.id = ?")
		args = append(args, sqlsearch.ResourceKey(q.Type, q.ID), q.Type, q.ID)
	case q.Type != "":
		conds = append(conds, "v.type = ?")
		args = append(args, q.Type)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "v.last_updated >= ?")
		args = append(args, q.Since.UnixMilli())
	}
	if !q.AtEnd.IsZero() {
		conds = append(conds, "v.last_updated < ?")
		args = append(args, q.AtEnd.UnixMilli())
	}
	if !q.AtStart.IsZero() {
		// The version must still have been current at AtStart: its
		// successor, if any, came later.
		conds = append(conds, `NOT EXISTS (SELECT 1 FROM resource_version n
			WHERE n.rkey = v.rkey AND n.version = v.version + 1 AND n.type = v.type AND n.id = v.id
			AND n.last_updated <= ?)`)
		args = append(args, q.AtStart.UnixMilli())
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}
