package sqlite

// The tests index the audit trail in epochs of 10 records, so that a few
// blocks make an indexed epoch and a few more the tail after it.
func init() { auditEpoch = 10 }

// SetIndexStep makes every step of indexing an epoch insert rows rows,
// plus catchUp times the rows of the append's block, until the test ends.
func SetIndexStep(t interface{ Cleanup(func()) }, rows, catchUp int) {
	was, wasCatchUp := indexStepRows, indexCatchUp
	indexStepRows, indexCatchUp = rows, catchUp
	t.Cleanup(func() { indexStepRows, indexCatchUp = was, wasCatchUp })
}
