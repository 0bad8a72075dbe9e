package auditblock

import (
	"fmt"
	"slices"
	"sync"
)

// An epoch is indexed in steps, a few hundred rows with each append,
// rather than all at once: its some seven thousand rows held the one
// append that completed it for 10-15 ms on SQLite, and every request
// waiting for its audit event with it (appends slower than 5 ms took 957
// ms in all in one run of `kartehub bench`, 347-411 ms in steps). Each
// step inserts StepRows rows in key order after those the engine holds,
// and the last step lists the epoch. Until then searches treat the epoch
// as the tail after the last indexed one, and read its blocks' idx.

// IndexStepRows and IndexCatchUp size a step: IndexStepRows rows, plus
// IndexCatchUp times the rows of the append's own block, so that indexing
// keeps ahead of appends however large they grow. Tests make them small.
var (
	IndexStepRows = 256
	IndexCatchUp  = 2
)

// StepRows returns how many rows of the epoch being indexed an append
// inserts, whose own block has own distinct entries (Block.EntryCount).
func StepRows(own int) int { return IndexStepRows + IndexCatchUp*own }

// NextRow returns the position in rows, an epoch's rows in key order, of
// the first row after last, the greatest row of the epoch that the engine
// holds: where the next step starts. Rows are inserted in key order, one
// step per transaction, so every row before it is there.
func NextRow(rows []IndexRow, last IndexRow) int {
	i, found := slices.BinarySearchFunc(rows, last, CompareRows)
	if found {
		i++
	}
	return i
}

// EpochCache keeps the rows of the epoch being indexed from one step to
// the next, so that a step does not read and sort them again. Blocks never
// change, so the rows of the blocks after through up to endBlock are the
// same whenever they are read; where a step starts is read from the
// engine. It is safe for concurrent use.
type EpochCache struct {
	mu                sync.Mutex
	through, endBlock int64
	epoch             int64
	rows              []IndexRow
}

// Rows returns the epoch made of the blocks after through up to endBlock:
// its first record, which keys its rows, and its rows (EpochRows). If it
// does not hold them, load returns those blocks in order (FirstSeq and
// Index are enough).
func (e *EpochCache) Rows(through, endBlock int64, load func() ([]Block, error)) (int64, []IndexRow, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rows != nil && e.through == through && e.endBlock == endBlock {
		return e.epoch, e.rows, nil
	}
	blocks, err := load()
	if err != nil {
		return 0, nil, err
	}
	if len(blocks) == 0 {
		return 0, nil, fmt.Errorf("audit block %d is gone", endBlock)
	}
	e.through, e.endBlock, e.epoch = through, endBlock, blocks[0].FirstSeq
	e.rows = append([]IndexRow{}, EpochRows(e.epoch, blocks)...)
	return e.epoch, e.rows, nil
}

// Drop forgets the rows of an epoch fully indexed.
func (e *EpochCache) Drop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.through, e.endBlock, e.epoch, e.rows = 0, 0, 0, nil
}
