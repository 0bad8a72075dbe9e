package sqlite

// The tests index the audit trail in epochs of 10 records, so that a few
// blocks make an indexed epoch and a few more the tail after it.
func init() { auditEpoch = 10 }
