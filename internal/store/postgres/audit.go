package postgres

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
)

var (
	_ karte.AuditLog      = (*Store)(nil)
	_ karte.AuditAppender = (*Store)(nil)
	_ karte.AuditSearcher = (*Store)(nil)
)

// The audit trail is kept in blocks, as in SQLite (see kartehub/internal/
// store/auditblock): each append is one row of audit_block, and every
// epoch of some thousand records adds the rows of its blocks to
// audit_block_index at once.

// auditLockKey is the advisory lock that serialises appends to the audit
// trail across every server on the database ("kh-audit" in ASCII), so that
// sequence numbers are handed out, and become visible, in order.
const auditLockKey = 0x6b682d6175646974

const lockAudit = `SELECT pg_advisory_xact_lock($1)`

// appendBlock inserts a block, but only if its first record follows the
// last stored one, and returns how many blocks it inserted (0 or 1). It
// runs after the advisory lock is granted, and READ COMMITTED takes its
// snapshot then, so it sees every append that finished before.
const appendBlock = `INSERT INTO audit_block (first_seq, last_seq, min_time, max_time, idx, data)
	SELECT $1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::bytea, $6::bytea
	WHERE coalesce((SELECT last_seq FROM audit_block ORDER BY first_seq DESC LIMIT 1), 0) = $1::bigint - 1`

// indexedThrough returns the last record of the last indexed epoch, or 0.
const indexedThrough = `SELECT coalesce((SELECT last_seq FROM audit_epoch ORDER BY first_seq DESC LIMIT 1), 0)`

// insertIndexRows inserts rows of an epoch, given as arrays in key order.
// A row that someone put there before is no reason to fail the append;
// Verify reports a row that no record has.
const insertIndexRows = `INSERT INTO audit_block_index (epoch, name, value, first_seq)
	SELECT $1::bigint, u.name, u.value, u.first_seq FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(name, value, first_seq)
	ON CONFLICT DO NOTHING`

// insertEpoch lists an epoch whose rows are all in.
const insertEpoch = `INSERT INTO audit_epoch (first_seq, last_seq) VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING`

// dueEpoch finds the block that ends the epoch after $1, if that epoch
// is due: the first whose last record makes the blocks after $1 hold $2
// records. last_seq grows with first_seq, so the scan stops there.
const dueEpoch = `SELECT first_seq, last_seq FROM audit_block WHERE first_seq > $1 AND last_seq >= $1 + $2 ORDER BY first_seq LIMIT 1`

// lastIndexRow is the greatest row of an epoch: the next step starts
// after it.
const lastIndexRow = `SELECT name, value, first_seq FROM audit_block_index WHERE epoch = $1 ORDER BY name DESC, value DESC, first_seq DESC LIMIT 1`

// auditEpoch is how many records an epoch of the audit index gathers
// (auditblock.EpochRecords; the package's tests make it small).
var auditEpoch int64 = auditblock.EpochRecords

// appendAndIndex inserts block b, as args of appendBlock (after taking the
// append lock if lock is set, in the same round trip), and then takes a
// step of indexing the epoch after the last indexed one, if the blocks
// after it hold auditEpoch records or more (see auditblock.StepRows).
func (t *tx) appendAndIndex(ctx context.Context, epochs *auditblock.EpochCache, args []any, lock bool) error {
	first, last := args[0].(int64), args[1].(int64)
	b := &pgx.Batch{}
	if lock {
		b.Queue(lockAudit, int64(auditLockKey))
	}
	b.Queue(appendBlock, args...)
	b.Queue(indexedThrough)
	br := t.tx.SendBatch(ctx, b)
	var err error
	if lock {
		_, err = br.Exec()
	}
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	var through int64
	if err == nil {
		err = br.QueryRow().Scan(&through)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t.fail(err, "append audit records %d-%d", first, last)
	}
	if tag.RowsAffected() != 1 {
		return karte.Errorf(karte.Conflict, "audit record %d does not follow the last one", first)
	}
	if last-through < auditEpoch {
		return nil
	}
	own, err := (&auditblock.Block{FirstSeq: first, Index: args[4].([]byte)}).EntryCount()
	if err != nil {
		return err
	}
	if err := t.indexStep(ctx, epochs, through, own); err != nil {
		return t.fail(err, "index audit records to %d", last)
	}
	return nil
}

// indexStep inserts the next rows of the epoch after through, if it is
// due, in key order after those already there, as many as an append with
// own entries takes (auditblock.StepRows), and lists the epoch once they
// are all in. Where the step starts is read from the database.
func (t *tx) indexStep(ctx context.Context, epochs *auditblock.EpochCache, through int64, own int) error {
	var endBlock, end int64
	err := t.tx.QueryRow(ctx, dueEpoch, through, auditEpoch).Scan(&endBlock, &end)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	epoch, rows, err := epochs.Rows(through, endBlock, func() ([]auditblock.Block, error) {
		rows, _ := t.tx.Query(ctx, `SELECT first_seq, idx FROM audit_block WHERE first_seq > $1 AND first_seq <= $2 ORDER BY first_seq`, through, endBlock)
		return pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditblock.Block, error) {
			var b auditblock.Block
			return b, row.Scan(&b.FirstSeq, &b.Index)
		})
	})
	if err != nil {
		return err
	}
	next := 0
	var at auditblock.IndexRow
	switch err := t.tx.QueryRow(ctx, lastIndexRow, epoch).Scan(&at.Entry.Name, &at.Entry.Value, &at.FirstSeq); {
	case err == nil:
		next = auditblock.NextRow(rows, at)
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	step := rows[next:min(len(rows), next+auditblock.StepRows(own))]
	if len(step) > 0 {
		names, values, seqs := make([]string, len(step)), make([]string, len(step)), make([]int64, len(step))
		for i, r := range step {
			names[i], values[i], seqs[i] = r.Entry.Name, r.Entry.Value, r.FirstSeq
		}
		if _, err := t.tx.Exec(ctx, insertIndexRows, epoch, names, values, seqs); err != nil {
			return err
		}
	}
	if next+len(step) < len(rows) {
		return nil
	}
	epochs.Drop()
	_, err = t.tx.Exec(ctx, insertEpoch, epoch, end)
	return err
}

const blockColumns = `first_seq, last_seq, min_time, max_time`

const selectLastBlock = `SELECT ` + blockColumns + `, NULL::bytea, data FROM audit_block ORDER BY first_seq DESC LIMIT 1`

// blockArgs returns the arguments of appendBlock for recs, which must be
// numbered consecutively.
func blockArgs(recs []karte.AuditRecord) ([]any, error) {
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq != recs[i-1].Seq+1 {
			return nil, karte.Errorf(karte.Conflict, "audit record %d follows %d in one append", recs[i].Seq, recs[i-1].Seq)
		}
	}
	b := auditblock.Encode(recs)
	return []any{b.FirstSeq, b.LastSeq, b.MinTime, b.MaxTime, b.Index, b.Data}, nil
}

// AppendAudit implements karte.AuditLog: the lock and the insert in one
// round trip, then the commit.
func (s *Store) AppendAudit(ctx context.Context, recs []karte.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	args, err := blockArgs(recs)
	if err != nil {
		return err
	}
	return s.Write(ctx, func(kt karte.Tx) error {
		return kt.(*tx).appendAndIndex(ctx, &s.epochs, args, true)
	})
}

// AppendAuditAfter implements karte.AuditAppender: the lock and the read
// of the last block in one round trip, then the insert and the commit.
func (s *Store) AppendAuditAfter(ctx context.Context, link func(last *karte.AuditRecord) ([]karte.AuditRecord, error)) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		t := kt.(*tx)
		b := &pgx.Batch{}
		b.Queue(lockAudit, int64(auditLockKey))
		b.Queue(selectLastBlock)
		br := t.tx.SendBatch(ctx, b)
		_, err := br.Exec()
		var last *karte.AuditRecord
		if err == nil {
			last, err = lastRecord(br.QueryRow())
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return t.fail(err, "last audit record")
		}
		recs, err := link(last)
		if err != nil || len(recs) == 0 {
			return err
		}
		args, err := blockArgs(recs)
		if err != nil {
			return err
		}
		return t.appendAndIndex(ctx, &s.epochs, args, false)
	})
}

// scanBlock reads a row of blockColumns, idx and data (either may be NULL).
func scanBlock(row pgx.Row) (auditblock.Block, error) {
	var b auditblock.Block
	err := row.Scan(&b.FirstSeq, &b.LastSeq, &b.MinTime, &b.MaxTime, &b.Index, &b.Data)
	return b, err
}

// lastRecord returns the last record of the block in row, or nil if there
// is none.
func lastRecord(row pgx.Row) (*karte.AuditRecord, error) {
	b, err := scanBlock(row)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	}
	recs, err := b.Records()
	if err != nil {
		return nil, err
	}
	return &recs[len(recs)-1], nil
}

// LastAudit implements karte.AuditLog.
func (s *Store) LastAudit(ctx context.Context) (*karte.AuditRecord, error) {
	last, err := lastRecord(s.pool.QueryRow(ctx, selectLastBlock))
	if err != nil {
		return nil, dbError(err, "last audit record")
	}
	return last, nil
}

// AuditRecords implements karte.AuditLog. It reads whole blocks, from the
// one that holds record after+1, and then their index rows, in one
// REPEATABLE READ transaction so that both see the same blocks.
func (s *Store) AuditRecords(ctx context.Context, after int64, n int) ([]karte.AuditRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	var recs []karte.AuditRecord
	var damage error
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+blockColumns+`, idx, data FROM audit_block WHERE first_seq >= coalesce(
			(SELECT first_seq FROM audit_block WHERE first_seq <= $1 ORDER BY first_seq DESC LIMIT 1), 0)
			ORDER BY first_seq`, after+1)
		var blocks []auditblock.Block
		var blockRecs [][]karte.AuditRecord
		total := 0
		for rows.Next() {
			b, err := scanBlock(rows)
			if err != nil {
				rows.Close()
				return err
			}
			br, err := b.Records()
			blocks, blockRecs = append(blocks, b), append(blockRecs, br)
			for _, r := range br {
				if r.Seq > after {
					total++
				}
			}
			if damage = err; err != nil || total >= n {
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(blocks) == 0 {
			return err
		}
		last := blocks[len(blocks)-1]
		ix, err := pageIndex(ctx, tx, blocks[0].FirstSeq, max(last.FirstSeq, last.LastSeq))
		if err != nil {
			return err
		}
		recs = auditblock.Page(blocks, blockRecs, ix, damage == nil, after, n)
		return nil
	})
	if err != nil {
		return nil, dbError(err, "audit records after %d", after)
	}
	return recs, damage
}

// pageIndex returns what the index holds of the blocks whose records run
// from lo to hi.
func pageIndex(ctx context.Context, tx pgx.Tx, lo, hi int64) (ix auditblock.Indexed, err error) {
	if err := tx.QueryRow(ctx, indexedThrough).Scan(&ix.Through); err != nil {
		return ix, err
	}
	rows, _ := tx.Query(ctx, `SELECT first_seq, last_seq FROM audit_epoch WHERE first_seq <= $1 AND last_seq >= $2 ORDER BY first_seq`, hi, lo)
	var e auditblock.Epoch
	if _, err := pgx.ForEachRow(rows, []any{&e.FirstSeq, &e.LastSeq}, func() error {
		ix.Epochs = append(ix.Epochs, e)
		return nil
	}); err != nil {
		return ix, err
	}
	if len(ix.Epochs) == 0 {
		return ix, nil
	}
	// The rows of the epochs, by key: those of the blocks are among them.
	rows, _ = tx.Query(ctx, `SELECT epoch, first_seq, name, value FROM audit_block_index WHERE epoch >= $1 AND epoch <= $2 AND first_seq >= $3 AND first_seq <= $4`,
		ix.Epochs[0].FirstSeq, ix.Epochs[len(ix.Epochs)-1].FirstSeq, lo, hi)
	var r auditblock.IndexRow
	_, err = pgx.ForEachRow(rows, []any{&r.Epoch, &r.FirstSeq, &r.Entry.Name, &r.Entry.Value}, func() error {
		ix.Rows = append(ix.Rows, r)
		return nil
	})
	auditblock.SortRows(ix.Rows)
	return ix, err
}

// SearchAudit implements karte.AuditSearcher: blocks that may hold
// matches, found by their columns and index rows, in order, each searched
// for its matching records until there are enough.
func (s *Store) SearchAudit(ctx context.Context, q karte.AuditQuery) ([]karte.AuditRecord, error) {
	p, err := auditblock.ForSearch(q)
	if err != nil || p.Empty {
		return nil, err
	}
	var recs []karte.AuditRecord
	err = s.eachBlock(ctx, p, q, false, func(b *auditblock.Block) (more bool, err error) {
		recs, err = p.Search(b, recs, q.Limit)
		return len(recs) < q.Limit, err
	})
	if err != nil {
		return nil, dbError(err, "audit search")
	}
	return recs, nil
}

// CountAudit implements karte.AuditSearcher. It reads the index of each
// block that may hold matches, and its records only if some of them lie
// outside the query's period.
func (s *Store) CountAudit(ctx context.Context, q karte.AuditQuery) (int64, error) {
	p, err := auditblock.ForCount(q)
	if err != nil || p.Empty {
		return 0, err
	}
	var total int64
	err = s.eachBlock(ctx, p, q, true, func(b *auditblock.Block) (bool, error) {
		n, err := p.Count(b)
		total += n
		return true, err
	})
	if err != nil {
		return 0, dbError(err, "audit count")
	}
	return total, nil
}

// eachBlock calls fn, in the query's order, with the blocks that may hold
// records matching q (prepared as p), until fn returns false or an error:
// their columns, idx if q has filters, and data (for a count, only of
// blocks that lie partly outside the query's period). With filters, the
// blocks of indexed epochs are those that audit_block_index gives for
// every filter, and the blocks after the last epoch are all read. It runs
// in one REPEATABLE READ transaction.
func (s *Store) eachBlock(ctx context.Context, p *auditblock.Query, q karte.AuditQuery, count bool, fn func(*auditblock.Block) (bool, error)) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		lo, hi, ok, err := blockRange(ctx, tx, p)
		if err != nil || !ok {
			return err
		}
		type part struct {
			lo, hi  int64
			indexed bool
		}
		parts := []part{{lo, hi, false}}
		if len(q.Filters) > 0 {
			var through int64
			if err := tx.QueryRow(ctx, indexedThrough).Scan(&through); err != nil {
				return err
			}
			parts = []part{{lo, min(hi, through), true}, {max(lo, through+1), hi, false}}
			if q.Descending {
				parts[0], parts[1] = parts[1], parts[0]
			}
		}
		for _, pt := range parts {
			// The server sends every row a query selects, however few the
			// caller reads: blocks are asked for a few at first, then more
			// at a time, each query after the last block of the one before.
			// A count reads them all at once.
			for chunk := int64(8); pt.lo <= pt.hi; chunk = min(4*chunk, 1024) {
				if count {
					chunk = math.MaxInt64
				}
				sql, args := blockSearch(p, q, pt.lo, pt.hi, pt.indexed, count)
				args = append(args, chunk)
				n, last, more, err := eachBlockOf(ctx, tx, sql+` LIMIT $`+strconv.Itoa(len(args)), args, fn)
				if err != nil || !more {
					return err
				}
				if n < chunk {
					break
				}
				if q.Descending {
					pt.hi = last - 1
				} else {
					pt.lo = last + 1
				}
			}
		}
		return nil
	})
}

// eachBlockOf calls fn with the blocks that sql selects (blockSearch) and
// returns how many there were, the first_seq of the last, and whether fn
// wanted more.
func eachBlockOf(ctx context.Context, tx pgx.Tx, sql string, args []any, fn func(*auditblock.Block) (bool, error)) (n, last int64, more bool, err error) {
	rows, _ := tx.Query(ctx, sql, args...)
	defer rows.Close()
	for rows.Next() {
		b, err := scanBlock(rows)
		if err != nil {
			return n, last, false, err
		}
		n, last = n+1, b.FirstSeq
		more, err := fn(&b)
		if err != nil || !more {
			return n, last, more, err
		}
	}
	return n, last, true, rows.Err()
}

// blockSearch returns the statement that selects, in the query's order,
// the blocks with first_seq from lo to hi that may hold records matching
// q (prepared as p), through audit_block_index if indexed: the columns,
// idx if q has filters, and data (for a count, only of blocks that lie
// partly outside the query's period).
func blockSearch(p *auditblock.Query, q karte.AuditQuery, lo, hi int64, indexed, count bool) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var sql strings.Builder
	sql.WriteString(`SELECT ` + blockColumns)
	if len(q.Filters) > 0 {
		sql.WriteString(`, idx`)
	} else {
		sql.WriteString(`, NULL::bytea`)
	}
	if count {
		sql.WriteString(`, CASE WHEN min_time < ` + arg(p.TimeLo) + ` OR max_time > ` + arg(p.TimeHi) + ` THEN data END`)
	} else {
		sql.WriteString(`, data`)
	}
	loArg, hiArg := arg(lo), arg(hi)
	sql.WriteString(` FROM audit_block WHERE first_seq >= ` + loArg + ` AND first_seq <= ` + hiArg +
		` AND last_seq >= ` + arg(p.SeqLo) + ` AND max_time >= ` + arg(p.TimeLo) + ` AND min_time <= ` + arg(p.TimeHi))
	for _, f := range q.Filters {
		if !indexed {
			break
		}
		// Each epoch of the range, then its rows of the filter's values.
		sql.WriteString(` AND first_seq IN (SELECT i.first_seq FROM audit_epoch e JOIN audit_block_index i ON i.epoch = e.first_seq` +
			` WHERE e.first_seq <= ` + hiArg + ` AND e.last_seq >= ` + loArg + ` AND i.name = ` + arg(f.Name) +
			` AND i.value = ANY(` + arg(f.Values) + `::text[]) AND i.first_seq >= e.first_seq AND i.first_seq <= e.last_seq` +
			` AND i.first_seq >= ` + loArg + ` AND i.first_seq <= ` + hiArg + `)`)
	}
	if q.Descending {
		sql.WriteString(` ORDER BY first_seq DESC`)
	} else {
		sql.WriteString(` ORDER BY first_seq`)
	}
	return sql.String(), args
}

// blockRange returns the range of first_seq of the blocks that may hold
// records in p's ranges of Seq and Time: from the block that holds SeqLo,
// or the first block with a record at or after TimeLo, to SeqHi, or the
// last block with a record at or before TimeHi. ok is false if none can.
func blockRange(ctx context.Context, tx pgx.Tx, p *auditblock.Query) (lo, hi int64, ok bool, err error) {
	lo, hi = p.SeqLo, p.SeqHi
	var cols []string
	var args []any
	var seqLo, timeLo, timeHi *int64
	var dest []any
	add := func(col string, arg int64, d **int64) {
		args = append(args, arg)
		cols = append(cols, strings.ReplaceAll(col, "$", "$"+strconv.Itoa(len(args))))
		dest = append(dest, d)
	}
	if p.SeqLo != math.MinInt64 {
		add(`(SELECT first_seq FROM audit_block WHERE first_seq <= $::bigint ORDER BY first_seq DESC LIMIT 1)`, p.SeqLo, &seqLo)
	}
	if p.TimeLo != math.MinInt64 {
		add(`(SELECT min(first_seq) FROM audit_block WHERE max_time >= $::bigint)`, p.TimeLo, &timeLo)
	}
	if p.TimeHi != math.MaxInt64 {
		add(`(SELECT max(first_seq) FROM audit_block WHERE min_time <= $::bigint)`, p.TimeHi, &timeHi)
	}
	if len(cols) == 0 {
		return lo, hi, true, nil
	}
	if err := tx.QueryRow(ctx, `SELECT `+strings.Join(cols, ", "), args...).Scan(dest...); err != nil {
		return 0, 0, false, err
	}
	ok = true
	if seqLo != nil {
		lo = *seqLo
	}
	if p.TimeLo != math.MinInt64 {
		if timeLo == nil {
			return 0, 0, false, nil
		}
		lo = max(lo, *timeLo)
	}
	if p.TimeHi != math.MaxInt64 {
		if timeHi == nil {
			return 0, 0, false, nil
		}
		hi = min(hi, *timeHi)
	}
	return lo, hi, lo <= hi, nil
}
