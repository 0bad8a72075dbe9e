package cli_test

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kartehub/internal/cli"
)

var oneTimePassword = regexp.MustCompile(`one-time password\n\n    (\S+)\n`)

// serveOnce runs "serve" on dir until it has logged its address, stops it,
// and returns what it wrote to stdout and to the log.
func serveOnce(t *testing.T, dir string) (stdout, log string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := cli.Run(ctx, []string{"serve", "--data", dir, "--http", "127.0.0.1:0"}, &out, pw)
		pw.Close()
		done <- err
	}()
	var logged bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logged.String(), "fhir=") && time.Now().Before(deadline) {
		n, err := pr.Read(buf)
		logged.Write(buf[:n])
		if err != nil {
			break
		}
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(&logged, pr) // until serve ends and closes pw
		close(copied)
	}()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	<-copied
	return out.String(), logged.String()
}

// TestServeCreatesAdministratorOnce: a new data directory gets an
// administrator whose one-time password is shown on stdout once, never in
// the log; a second start creates nothing.
func TestServeCreatesAdministratorOnce(t *testing.T) {
	dir := t.TempDir()
	out, log := serveOnce(t, dir)
	m := oneTimePassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("first start: no one-time password on stdout:\n%s", out)
	}
	if strings.Contains(log, m[1]) {
		t.Errorf("the one-time password is in the log")
	}
	out, _ = serveOnce(t, dir)
	if strings.Contains(out, "one-time password") {
		t.Errorf("second start showed a password again:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the writer and the reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
