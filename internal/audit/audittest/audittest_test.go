package audittest_test

import (
	"testing"

	"kartehub/internal/audit/audittest"
)

// TestMemLog holds MemLog to the suite that the engines pass, so that
// tests above the store can trust it.
func TestMemLog(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Harness {
		return audittest.Harness{Log: &audittest.MemLog{}}
	})
}
