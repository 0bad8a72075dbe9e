package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
	"kartehub/internal/store/sqlsearch"
)

var (
	_ karte.AuditLog      = (*Store)(nil)
	_ karte.AuditAppender = (*Store)(nil)
	_ karte.AuditSearcher = (*Store)(nil)
)

// The audit trail is kept in its own database file (AuditPath), in blocks
// (see kartehub/internal/store/auditblock): each append is one row of
// audit_block, and every epoch of some thousand records adds the rows of
// its blocks to audit_block_index at once.

// AppendAudit implements karte.AuditLog. The records go through the
// trail's writer, so appends share its group commit and its durability.
func (s *Store) AppendAudit(ctx context.Context, recs []karte.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := consecutive(recs); err != nil {
		return err
	}
	b := auditblock.Encode(recs)
	return s.trail.write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		last, err := lastAuditSeq(c)
		if err != nil {
			return err
		}
		return insertBlock(c, &s.epochs, last, &b)
	})
}

// AppendAuditAfter implements karte.AuditAppender. The trail's write
// connection is the only writer of its file in this process, and SQLite
// lets one writer at a time at it, so it holds the append lock by itself.
func (s *Store) AppendAuditAfter(ctx context.Context, link func(last *karte.AuditRecord) ([]karte.AuditRecord, error)) error {
	var tail *karte.AuditRecord
	err := s.trail.write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		last, err := s.lastAppended(c)
		if err != nil {
			return err
		}
		recs, err := link(last)
		if err != nil || len(recs) == 0 {
			return err
		}
		if err := consecutive(recs); err != nil {
			return err
		}
		seq := int64(0)
		if last != nil {
			seq = last.Seq
		}
		b := auditblock.Encode(recs)
		tail = &recs[len(recs)-1]
		return insertBlock(c, &s.epochs, seq, &b)
	})
	if err == nil && tail != nil {
		s.auditTail.Store(tail)
	}
	return err
}

// lastAppended returns the log's last record. That is the last one this
// store appended, if the log still ends with its number, as committed
// records are never changed (the triggers refuse it); otherwise, such as
// after an append by another process, it is read from its block, which
// costs reading and decompressing the whole block.
func (s *Store) lastAppended(c *conn) (*karte.AuditRecord, error) {
	if t := s.auditTail.Load(); t != nil {
		seq, err := lastAuditSeq(c)
		if err != nil {
			return nil, err
		}
		if seq == t.Seq {
			return t, nil
		}
	}
	return lastAudit(c)
}

// insertBlock stores block b after the record numbered last, and then
// takes the next step of indexing an epoch, if one is due.
func insertBlock(c *conn, epochs *auditblock.EpochCache, last int64, b *auditblock.Block) error {
	if b.FirstSeq != last+1 {
		return karte.Errorf(karte.Conflict, "audit record %d does not follow the last, %d", b.FirstSeq, last)
	}
	if err := c.exec(`INSERT INTO audit_block (first_seq, last_seq, min_time, max_time, idx, data) VALUES (?, ?, ?, ?, ?, ?)`,
		b.FirstSeq, b.LastSeq, b.MinTime, b.MaxTime, b.Index, b.Data); err != nil {
		return fmt.Errorf("append audit records %d-%d: %w", b.FirstSeq, b.LastSeq, err)
	}
	if err := indexEpoch(c, epochs, b); err != nil {
		return fmt.Errorf("index audit records to %d: %w", b.LastSeq, err)
	}
	return nil
}

// auditEpoch is how many records an epoch of the audit index gathers
// (auditblock.EpochRecords; the package's tests make it small).
var auditEpoch int64 = auditblock.EpochRecords

// indexEpoch takes a step of indexing the epoch after the last indexed
// one, if it is due: if the blocks after the last epoch hold auditEpoch
// records or more (see auditblock.StepRows). It inserts the epoch's next
// rows of audit_block_index in key order after those already there, and
// once they are all in, the epoch into audit_epoch. Where the step starts
// is read from the database, so that a step lost with its transaction, or
// an epoch half done when the server stopped, goes on from where the file
// says. b is the block the append adds.
func indexEpoch(c *conn, epochs *auditblock.EpochCache, b *auditblock.Block) error {
	through, err := indexedThrough(c)
	if err != nil || b.LastSeq-through < auditEpoch {
		return err
	}
	endBlock, end, err := dueEpoch(c, through)
	if err != nil || end == 0 {
		return err
	}
	epoch, rows, err := epochs.Rows(through, endBlock, func() ([]auditblock.Block, error) {
		return epochBlocks(c, through, endBlock)
	})
	if err != nil {
		return err
	}
	next, err := nextEpochRow(c, epoch, rows)
	if err != nil {
		return err
	}
	own, err := b.EntryCount()
	if err != nil {
		return err
	}
	step := rows[next:min(len(rows), next+auditblock.StepRows(own))]
	if err := insertIndexRows(c, epoch, step); err != nil {
		return err
	}
	if next+len(step) < len(rows) {
		return nil
	}
	epochs.Drop()
	return c.exec(`INSERT OR IGNORE INTO audit_epoch (first_seq, last_seq) VALUES (?, ?)`, epoch, end)
}

// dueEpoch returns the block that ends the epoch after through, if that
// epoch is due to be indexed: the first block whose last record makes the
// blocks after through hold auditEpoch records. end, its last record, is 0
// if no epoch is due yet. last_seq grows with first_seq, so the search
// stops at that block.
func dueEpoch(c *conn, through int64) (endBlock, end int64, err error) {
	st, err := c.query(`SELECT first_seq, last_seq FROM audit_block WHERE first_seq > ? AND last_seq >= ? ORDER BY first_seq LIMIT 1`, through, through+auditEpoch)
	if err != nil {
		return 0, 0, err
	}
	if st.Step() {
		endBlock, end = st.ColumnInt64(0), st.ColumnInt64(1)
	}
	return endBlock, end, done(st)
}

// nextEpochRow returns the position in rows, the epoch's rows in key
// order, of the first row that audit_block_index does not hold yet: the
// one after the greatest key of the epoch there.
func nextEpochRow(c *conn, epoch int64, rows []auditblock.IndexRow) (int, error) {
	st, err := c.query(`SELECT name, value, first_seq FROM audit_block_index WHERE epoch = ? ORDER BY name DESC, value DESC, first_seq DESC LIMIT 1`, epoch)
	if err != nil {
		return 0, err
	}
	if !st.Step() {
		return 0, done(st)
	}
	last := auditblock.IndexRow{Entry: karte.AuditIndexEntry{Name: st.ColumnText(0), Value: st.ColumnText(1)}, FirstSeq: st.ColumnInt64(2)}
	if err := done(st); err != nil {
		return 0, err
	}
	return auditblock.NextRow(rows, last), nil
}

// insertIndexRows inserts rows of audit_block_index of epoch, many to a
// statement.
func insertIndexRows(c *conn, epoch int64, rows []auditblock.IndexRow) error {
	args := make([]any, 0, 1+3*indexRowsPerInsert)
	for len(rows) > 0 {
		n := min(len(rows), indexRowsPerInsert)
		args = append(args[:0], epoch)
		for _, r := range rows[:n] {
			args = append(args, r.Entry.Name, r.Entry.Value, r.FirstSeq)
		}
		// OR IGNORE: a row that someone put there before is no reason to
		// fail the append; Verify reports a row that no record has.
		if err := c.exec(indexInserts[n], args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// epochBlocks reads the blocks after through up to endBlock, with their
// idx.
func epochBlocks(c *conn, through, endBlock int64) ([]auditblock.Block, error) {
	st, err := c.query(`SELECT first_seq, idx FROM audit_block WHERE first_seq > ? AND first_seq <= ? ORDER BY first_seq`, through, endBlock)
	if err != nil {
		return nil, err
	}
	var blocks []auditblock.Block
	for st.Step() {
		blocks = append(blocks, auditblock.Block{FirstSeq: st.ColumnInt64(0), Index: st.ColumnBlob(1, nil)})
	}
	return blocks, done(st)
}

// indexedThrough returns the last record of the last indexed epoch, or 0.
func indexedThrough(c *conn) (int64, error) {
	st, err := c.query(`SELECT last_seq FROM audit_epoch ORDER BY first_seq DESC LIMIT 1`)
	if err != nil {
		return 0, err
	}
	through := int64(0)
	if st.Step() {
		through = st.ColumnInt64(0)
	}
	return through, done(st)
}

// indexRowsPerInsert bounds the rows of one INSERT into audit_block_index:
// one statement for many rows costs far less than one for each.
const indexRowsPerInsert = 64

// indexInserts[n] inserts n rows of audit_block_index: ?1 is the epoch,
// then name, value and first_seq of each row.
var indexInserts = func() (out [indexRowsPerInsert + 1]string) {
	for n := 1; n <= indexRowsPerInsert; n++ {
		var b strings.Builder
		b.WriteString(`INSERT OR IGNORE INTO audit_block_index (epoch, name, value, first_seq) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(?1, ?%d, ?%d, ?%d)", 3*i+2, 3*i+3, 3*i+4)
		}
		out[n] = b.String()
	}
	return out
}()

// consecutive checks that recs are numbered one after another.
func consecutive(recs []karte.AuditRecord) error {
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq != recs[i-1].Seq+1 {
			return karte.Errorf(karte.Conflict, "audit record %d follows %d in one append", recs[i].Seq, recs[i-1].Seq)
		}
	}
	return nil
}

func lastAuditSeq(c *conn) (int64, error) {
	st, err := c.query(`SELECT last_seq FROM audit_block ORDER BY first_seq DESC LIMIT 1`)
	if err != nil {
		return 0, err
	}
	last := int64(0)
	if st.Step() {
		last = st.ColumnInt64(0)
	}
	return last, done(st)
}

const blockColumns = `first_seq, last_seq, min_time, max_time`

// scanBlock reads a row of blockColumns, followed by idx and data if
// given (a NULL leaves them nil). With raw, idx and data are SQLite's own
// memory, valid only until the statement steps on: the block must not
// outlive the row.
func scanBlock(st *sqlite3.Stmt, idx, data int, raw bool) auditblock.Block {
	b := auditblock.Block{FirstSeq: st.ColumnInt64(0), LastSeq: st.ColumnInt64(1), MinTime: st.ColumnInt64(2), MaxTime: st.ColumnInt64(3)}
	blob := func(col int) []byte {
		if raw {
			return st.ColumnRawBlob(col)
		}
		return st.ColumnBlob(col, []byte{})
	}
	if idx > 0 && st.ColumnType(idx) != sqlite3.NULL {
		b.Index = blob(idx)
	}
	if data > 0 && st.ColumnType(data) != sqlite3.NULL {
		b.Data = blob(data)
	}
	return b
}

// detach copies the byte fields of recs out of the block they were read
// from.
func detach(recs []karte.AuditRecord) {
	for i := range recs {
		r := &recs[i]
		r.Event, r.Prev, r.Hash, r.Checkpoint = bytes.Clone(r.Event), bytes.Clone(r.Prev), bytes.Clone(r.Hash), bytes.Clone(r.Checkpoint)
	}
}

func lastAudit(c *conn) (*karte.AuditRecord, error) {
	st, err := c.query(`SELECT ` + blockColumns + `, data FROM audit_block ORDER BY first_seq DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	var last *karte.AuditRecord
	if st.Step() {
		b := scanBlock(st, 0, 4, true)
		recs, err := b.Records()
		if err != nil {
			done(st)
			return nil, err
		}
		last = &recs[len(recs)-1]
		detach(recs[len(recs)-1:])
	}
	return last, done(st)
}

// LastAudit implements karte.AuditLog.
func (s *Store) LastAudit(ctx context.Context) (*karte.AuditRecord, error) {
	var last *karte.AuditRecord
	err := s.trail.withReader(ctx, func(c *conn) (err error) {
		last, err = lastAudit(c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("last audit record: %w", err)
	}
	return last, nil
}

// AuditRecords implements karte.AuditLog. It reads whole blocks, from the
// one that holds record after+1, and then what the index holds of them,
// in one read transaction so that both see the same epochs.
func (s *Store) AuditRecords(ctx context.Context, after int64, n int) ([]karte.AuditRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	var recs []karte.AuditRecord
	var damage error
	err := s.trail.withReader(ctx, func(c *conn) error {
		if err := c.db.Exec(`BEGIN`); err != nil {
			return err
		}
		defer c.db.Exec(`COMMIT`)
		var blocks []auditblock.Block
		var blockRecs [][]karte.AuditRecord
		total := 0
		err := c.eachWhile(sqlsearch.Statement{
			SQL: `SELECT ` + blockColumns + `, idx, data FROM audit_block WHERE first_seq >= coalesce(
				(SELECT first_seq FROM audit_block WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1), 0)
				ORDER BY first_seq`,
			Args: []any{after + 1},
		}, func(st *sqlite3.Stmt) bool {
			b := scanBlock(st, 4, 5, false)
			br, err := b.Records()
			blocks, blockRecs = append(blocks, b), append(blockRecs, br)
			for _, r := range br {
				if r.Seq > after {
					total++
				}
			}
			damage = err
			return err == nil && total < n
		})
		if err != nil || len(blocks) == 0 {
			return err
		}
		ix, err := pageIndex(c, blocks[0].FirstSeq, max(blocks[len(blocks)-1].FirstSeq, blocks[len(blocks)-1].LastSeq))
		if err != nil {
			return err
		}
		recs = auditblock.Page(blocks, blockRecs, ix, damage == nil, after, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit records after %d: %w", after, err)
	}
	return recs, damage
}

// pageIndex returns what the index holds of the blocks whose records run
// from lo to hi.
func pageIndex(c *conn, lo, hi int64) (ix auditblock.Indexed, err error) {
	if ix.Through, err = indexedThrough(c); err != nil {
		return ix, err
	}
	st, err := c.query(`SELECT first_seq, last_seq FROM audit_epoch WHERE first_seq <= ? AND last_seq >= ? ORDER BY first_seq`, hi, lo)
	if err != nil {
		return ix, err
	}
	for st.Step() {
		ix.Epochs = append(ix.Epochs, auditblock.Epoch{FirstSeq: st.ColumnInt64(0), LastSeq: st.ColumnInt64(1)})
	}
	if err := done(st); err != nil {
		return ix, err
	}
	if len(ix.Epochs) == 0 {
		return ix, nil
	}
	// The rows of the epochs, by key: those of the blocks are among them.
	st, err = c.query(`SELECT epoch, first_seq, name, value FROM audit_block_index WHERE epoch >= ? AND epoch <= ? AND first_seq >= ? AND first_seq <= ?`,
		ix.Epochs[0].FirstSeq, ix.Epochs[len(ix.Epochs)-1].FirstSeq, lo, hi)
	if err != nil {
		return ix, err
	}
	for st.Step() {
		ix.Rows = append(ix.Rows, auditblock.IndexRow{Epoch: st.ColumnInt64(0), FirstSeq: st.ColumnInt64(1),
			Entry: karte.AuditIndexEntry{Name: st.ColumnText(2), Value: st.ColumnText(3)}})
	}
	if err := done(st); err != nil {
		return ix, err
	}
	auditblock.SortRows(ix.Rows)
	return ix, nil
}

// SearchAudit implements karte.AuditSearcher: blocks that may hold
// matches, in order, each searched for its matching records until there
// are enough (see eachAuditBlock).
func (s *Store) SearchAudit(ctx context.Context, q karte.AuditQuery) ([]karte.AuditRecord, error) {
	p, err := auditblock.ForSearch(q)
	if err != nil || p.Empty {
		return nil, err
	}
	var recs []karte.AuditRecord
	err = s.trail.withReader(ctx, func(c *conn) error {
		return eachAuditBlock(c, p, q, false, func(b *auditblock.Block) (more bool, err error) {
			n := len(recs)
			recs, err = p.Search(b, recs, q.Limit)
			detach(recs[n:])
			return len(recs) < q.Limit, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	return recs, nil
}

// CountAudit implements karte.AuditSearcher. It reads the idx of each
// block that may hold matches, and its records only if some of them lie
// outside the query's period.
func (s *Store) CountAudit(ctx context.Context, q karte.AuditQuery) (int64, error) {
	p, err := auditblock.ForCount(q)
	if err != nil || p.Empty {
		return 0, err
	}
	var total int64
	err = s.trail.withReader(ctx, func(c *conn) error {
		return eachAuditBlock(c, p, q, true, func(b *auditblock.Block) (bool, error) {
			n, err := p.Count(b)
			total += n
			return true, err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("audit count: %w", err)
	}
	return total, nil
}

// eachAuditBlock calls fn, in the query's order, with the blocks that may
// hold records matching q (prepared as p), until fn returns false or an
// error: their columns, idx if q has filters, and data (for a count, only
// of blocks that lie partly outside the query's period). The blocks'
// bytes are SQLite's and valid only during the call. With filters,
// the blocks of indexed epochs are those that audit_block_index gives for
// every filter, and the blocks after the last epoch are all read.
func eachAuditBlock(c *conn, p *auditblock.Query, q karte.AuditQuery, count bool, fn func(*auditblock.Block) (bool, error)) error {
	lo, hi, ok, err := blockRange(c, p)
	if err != nil || !ok {
		return err
	}
	type part struct {
		lo, hi  int64
		indexed bool
	}
	parts := []part{{lo, hi, false}}
	if len(q.Filters) > 0 {
		through, err := indexedThrough(c)
		if err != nil {
			return err
		}
		parts = []part{{lo, min(hi, through), true}, {max(lo, through+1), hi, false}}
		if q.Descending {
			parts[0], parts[1] = parts[1], parts[0]
		}
	}
	for _, pt := range parts {
		if pt.lo > pt.hi {
			continue
		}
		more, err := eachBlockOf(c, blockSearch(p, q, pt.lo, pt.hi, pt.indexed, count), fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// eachBlockOf calls fn with the blocks that stmt selects (blockSearch)
// and reports whether fn wanted more.
func eachBlockOf(c *conn, stmt sqlsearch.Statement, fn func(*auditblock.Block) (bool, error)) (more bool, err error) {
	more = true
	var ferr error
	err = c.eachWhile(stmt, func(st *sqlite3.Stmt) bool {
		b := scanBlock(st, 4, 5, true)
		more, ferr = fn(&b)
		return more && ferr == nil
	})
	return more, cmp.Or(err, ferr)
}

// blockSearch returns the statement that selects, in the query's order,
// the blocks with first_seq from lo to hi that may hold records matching
// q (prepared as p), through audit_block_index if indexed: the columns,
// idx if q has filters, and data (for a count, only of blocks that lie
// partly outside the query's period).
func blockSearch(p *auditblock.Query, q karte.AuditQuery, lo, hi int64, indexed, count bool) sqlsearch.Statement {
	var sql strings.Builder
	args := []any{}
	sql.WriteString(`SELECT ` + blockColumns)
	if len(q.Filters) > 0 {
		sql.WriteString(`, idx`)
	} else {
		sql.WriteString(`, NULL`)
	}
	if count {
		sql.WriteString(`, CASE WHEN min_time < ? OR max_time > ? THEN data END`)
		args = append(args, p.TimeLo, p.TimeHi)
	} else {
		sql.WriteString(`, data`)
	}
	sql.WriteString(` FROM audit_block WHERE first_seq >= ? AND first_seq <= ? AND last_seq >= ? AND max_time >= ? AND min_time <= ?`)
	args = append(args, lo, hi, p.SeqLo, p.TimeLo, p.TimeHi)
	for _, f := range q.Filters {
		if !indexed {
			break
		}
		// Each epoch of the range, then its rows of the filter's values
		// (CROSS JOIN keeps SQLite to that order, rather than scan the
		// rows of every epoch).
		sql.WriteString(` AND first_seq IN (SELECT i.first_seq FROM audit_epoch e CROSS JOIN audit_block_index i ON i.epoch = e.first_seq` +
			` WHERE e.first_seq <= ? AND e.last_seq >= ? AND i.name = ? AND i.value IN (?`)
		sql.WriteString(strings.Repeat(`, ?`, len(f.Values)-1))
		sql.WriteString(`) AND i.first_seq >= e.first_seq AND i.first_seq <= e.last_seq AND i.first_seq >= ? AND i.first_seq <= ?)`)
		args = append(args, hi, lo, f.Name)
		for _, v := range f.Values {
			args = append(args, v)
		}
		args = append(args, lo, hi)
	}
	if q.Descending {
		sql.WriteString(` ORDER BY first_seq DESC`)
	} else {
		sql.WriteString(` ORDER BY first_seq`)
	}
	return sqlsearch.Statement{SQL: sql.String(), Args: args}
}

// blockRange returns the range of first_seq of the blocks that may hold
// records in p's ranges of Seq and Time: from the block that holds SeqLo,
// or the first block with a record at or after TimeLo, to SeqHi, or the
// last block with a record at or before TimeHi. ok is false if none can.
func blockRange(c *conn, p *auditblock.Query) (lo, hi int64, ok bool, err error) {
	lo, hi = p.SeqLo, p.SeqHi
	var cols []string
	var args []any
	if p.SeqLo != math.MinInt64 {
		cols, args = append(cols, `(SELECT first_seq FROM audit_block WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1)`), append(args, p.SeqLo)
	}
	if p.TimeLo != math.MinInt64 {
		cols, args = append(cols, `(SELECT min(first_seq) FROM audit_block WHERE max_time >= ?)`), append(args, p.TimeLo)
	}
	if p.TimeHi != math.MaxInt64 {
		cols, args = append(cols, `(SELECT max(first_seq) FROM audit_block WHERE min_time <= ?)`), append(args, p.TimeHi)
	}
	if len(cols) == 0 {
		return lo, hi, true, nil
	}
	ok = true
	err = c.eachWhile(sqlsearch.Statement{SQL: `SELECT ` + strings.Join(cols, ", "), Args: args}, func(st *sqlite3.Stmt) bool {
		i := 0
		if p.SeqLo != math.MinInt64 {
			if st.ColumnType(i) != sqlite3.NULL {
				lo = st.ColumnInt64(i)
			}
			i++
		}
		if p.TimeLo != math.MinInt64 {
			if st.ColumnType(i) == sqlite3.NULL {
				ok = false
			}
			lo = max(lo, st.ColumnInt64(i))
			i++
		}
		if p.TimeHi != math.MaxInt64 {
			if st.ColumnType(i) == sqlite3.NULL {
				ok = false
			}
			hi = min(hi, st.ColumnInt64(i))
		}
		return false
	})
	return lo, hi, ok && lo <= hi, err
}

// eachWhile runs a statement prepared once per connection for its text,
// calling fn for each row until fn returns false.
func (c *conn) eachWhile(s sqlsearch.Statement, fn func(*sqlite3.Stmt) bool) error {
	st, err := c.search.take(c, s.SQL)
	if err != nil {
		return err
	}
	defer c.search.put(s.SQL, st)
	if err := bind(st, s.Args); err != nil {
		return err
	}
	for st.Step() {
		if !fn(st) {
			return nil
		}
	}
	return st.Err()
}
