package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

// TestWriteDuringClose: writes that race with Close are answered, with
// success or an error, and none waits forever.
func TestWriteDuringClose(t *testing.T) {
	for range 20 {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kartehub.db"))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					st.Write(context.Background(), func(karte.Tx) error { return nil })
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()
		time.Sleep(time.Millisecond)
		st.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a write racing with Close was never answered")
		}
	}
}
