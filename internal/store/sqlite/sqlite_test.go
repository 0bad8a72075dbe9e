package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
	"kartehub/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (karte.Store, error) {
		path := filepath.Join(t.TempDir(), "kartehub.db")
		return func() (karte.Store, error) { return sqlite.Open(context.Background(), path) }
	})
}
