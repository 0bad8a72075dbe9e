package auditapi

// SetScanBudget sets how many records one page of a scoped search may
// read, and returns a function that puts it back.
func SetScanBudget(n int) (restore func()) {
	old := scanBudget
	scanBudget = n
	return func() { scanBudget = old }
}
