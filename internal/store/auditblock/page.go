package auditblock

import (
	"cmp"
	"slices"

	"kartehub/internal/karte"
)

// EpochRecords is how many records an epoch of the index gathers before
// the engines index it: the epoch ends with the block whose last record
// makes it that many or more.
const EpochRecords = 2048

// Epoch is a row of audit_epoch: an indexed run of blocks, holding
// records FirstSeq to LastSeq. FirstSeq keys its rows of
// audit_block_index.
type Epoch struct {
	FirstSeq, LastSeq int64
}

// IndexRow is a row of audit_block_index.
type IndexRow struct {
	Epoch, FirstSeq int64
	Entry           karte.AuditIndexEntry
}

// EpochRows returns the rows of audit_block_index of an epoch made of
// blocks, which need only FirstSeq and Index: the distinct entries of
// each block, in key order (by name, value, then block), so that
// inserting them in this order fills new pages at the end of the table.
// A block whose idx cannot be read has no rows (Verify reports it).
func EpochRows(epoch int64, blocks []Block) []IndexRow {
	var rows []IndexRow
	for i := range blocks {
		entries, err := blocks[i].Entries()
		if err != nil {
			continue
		}
		for _, e := range entries {
			rows = append(rows, IndexRow{Epoch: epoch, FirstSeq: blocks[i].FirstSeq, Entry: e})
		}
	}
	slices.SortFunc(rows, CompareRows)
	return slices.CompactFunc(rows, func(a, b IndexRow) bool { return a.FirstSeq == b.FirstSeq && a.Entry == b.Entry })
}

// CompareRows orders the rows of one epoch as their key in
// audit_block_index does: by name, value (bytewise, as SQLite's BINARY
// collation and PostgreSQL's C collation compare), then block.
func CompareRows(a, b IndexRow) int {
	if c := compareEntries(a.Entry, b.Entry); c != 0 {
		return c
	}
	return cmp.Compare(a.FirstSeq, b.FirstSeq)
}

// SortRows sorts rows by FirstSeq, as Indexed wants them.
func SortRows(rows []IndexRow) {
	slices.SortStableFunc(rows, func(a, b IndexRow) int { return cmp.Compare(a.FirstSeq, b.FirstSeq) })
}

// Indexed is what an engine knows of the index of a run of blocks read
// for AuditRecords: the epochs that overlap them, the last record of the
// last epoch (Through: blocks after it are not indexed yet), and the
// rows of audit_block_index of those epochs whose first_seq lies among
// the blocks' records.
type Indexed struct {
	Epochs  []Epoch // by FirstSeq
	Through int64
	Rows    []IndexRow // by FirstSeq
}

// Page returns the page that karte.AuditLog.AuditRecords(after, n)
// returns: up to n of the records of blocks with Seq > after, each with
// its Index set to the entries it is found by (see setIndex). blocks are
// consecutive blocks of the log, and blockRecs their records
// (Block.Records); the last block's records may stop short where it is
// damaged (complete false), and then get no index entries. A row goes to
// the block among whose records its first_seq falls, so that rows moved
// off their block's key show too.
func Page(blocks []Block, blockRecs [][]karte.AuditRecord, ix Indexed, complete bool, after int64, n int) []karte.AuditRecord {
	var out []karte.AuditRecord
	j, k := 0, 0
	for i := range blocks {
		b := &blocks[i]
		var found, stray []karte.AuditIndexEntry
		for j < len(ix.Rows) && ix.Rows[j].FirstSeq < b.FirstSeq {
			j++
		}
		for k < len(ix.Epochs) && ix.Epochs[k].LastSeq < b.FirstSeq {
			k++
		}
		epoch := int64(-1)
		if k < len(ix.Epochs) && ix.Epochs[k].FirstSeq <= b.FirstSeq {
			epoch = ix.Epochs[k].FirstSeq
		}
		for j < len(ix.Rows) && ix.Rows[j].FirstSeq <= max(b.FirstSeq, b.LastSeq) && (i+1 == len(blocks) || ix.Rows[j].FirstSeq < blocks[i+1].FirstSeq) {
			if r := ix.Rows[j]; r.FirstSeq == b.FirstSeq && r.Epoch == epoch {
				found = append(found, r.Entry)
			} else {
				stray = append(stray, r.Entry)
			}
			j++
		}
		if complete || i+1 < len(blocks) {
			b.setIndex(blockRecs[i], b.FirstSeq <= ix.Through, found, stray)
		}
		for _, r := range blockRecs[i] {
			if r.Seq > after && len(out) < n {
				out = append(out, r)
			}
		}
	}
	return out
}
