package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
)

// Page sizes of History: DefaultCount when the query gives none, and
// MaxCount at most, so one request cannot read a whole database.
const (
	DefaultCount = 50
	MaxCount     = 1000
)

// History returns one page of versions, newest first, in one round trip
// and one snapshot: the page and its Total always agree.
func (s *Store) History(ctx context.Context, q karte.HistoryQuery) (*karte.HistoryPage, error) {
	count, err := pageSize(q.Count)
	if err != nil {
		return nil, err
	}
	where, args := historyFilter(q)
	page := where
	if q.Before != 0 {
		page += " AND v.seq < @before"
		args["before"] = q.Before
	}
	// Total comes from an uncorrelated subquery, which PostgreSQL runs once.
	// The row beyond the page tells whether another page follows.
	sql := `SELECT ` + versionColumns + `, (SELECT count(*) FROM resource_version v WHERE ` + where + `)
FROM resource_version v WHERE ` + page + `
ORDER BY v.seq DESC LIMIT @limit`
	args["limit"] = count + 1

	p, err := collectPage(s.pool.Query(ctx, sql, args))
	if err != nil {
		return nil, dbError(err, "history")
	}
	if len(p.Versions) > count {
		p.Versions = p.Versions[:count]
		p.Next = p.Versions[count-1].Seq
	}
	if len(p.Versions) == 0 && q.Before != 0 {
		// No row carried Total: a cursor past the end.
		err = s.pool.QueryRow(ctx, `SELECT count(*) FROM resource_version v WHERE `+where, args).Scan(&p.Total)
		if err != nil {
			return nil, dbError(err, "history")
		}
	}
	return p, nil
}

// collectPage reads the rows of History's query.
func collectPage(rows pgx.Rows, err error) (*karte.HistoryPage, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	p := &karte.HistoryPage{}
	for rows.Next() {
		r, err := scanVersion(rows, &p.Total)
		if err != nil {
			return nil, err
		}
		p.Versions = append(p.Versions, r)
	}
	return p, rows.Err()
}

// pageSize applies the defaults and bounds of HistoryQuery.Count.
func pageSize(count int) (int, error) {
	switch {
	case count < 0:
		return 0, karte.Errorf(karte.Invalid, "history: negative count %d", count)
	case count == 0:
		return DefaultCount, nil
	}
	return min(count, MaxCount), nil
}

// historyFilter returns the condition on resource_version v that selects
// what q asks for, Before aside, and its arguments. Times are compared in
// milliseconds, as they are stored.
func historyFilter(q karte.HistoryQuery) (string, pgx.NamedArgs) {
	conds := []string{"TRUE"}
	args := pgx.NamedArgs{}
	add := func(cond, name string, value any) {
		conds = append(conds, cond)
		args[name] = value
	}
	if q.Type != "" {
		add("v.type = @type", "type", q.Type)
	}
	if q.ID != "" {
		add("v.id = @id", "id", q.ID)
	}
	if !q.Since.IsZero() {
		add("v.last_updated >= @since", "since", q.Since.UnixMilli())
	}
	if !q.AtEnd.IsZero() {
		// The version became current before the range ended...
		add("v.last_updated < @at_end", "at_end", q.AtEnd.UnixMilli())
	}
	if !q.AtStart.IsZero() {
		// ...and stayed current past its start: no next version was
		// written by then.
		add(`NOT EXISTS (SELECT 1 FROM resource_version n
	WHERE n.type = v.type AND n.id = v.id AND n.version = v.version + 1 AND n.last_updated <= @at_start)`,
			"at_start", q.AtStart.UnixMilli())
	}
	return strings.Join(conds, " AND "), args
}
