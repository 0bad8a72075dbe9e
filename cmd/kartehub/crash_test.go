package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"kartehub/internal/oauth/oauthtest"
	"kartehub/internal/store/sqlite"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles kartehub once for the process tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kartehub")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var fhirURL = regexp.MustCompile(`fhir=(http://\S+/fhir)`)

// startServer runs "kartehub serve" on a free port and returns its FHIR base.
func startServer(t *testing.T, bin, data string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--http", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := fhirURL.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return cmd, m[1]
		}
	}
	cmd.Process.Kill()
	t.Fatalf("server did not report its address")
	return nil, ""
}

// pairBundle is a transaction of a Patient and an Observation with ids
// fixed by n, so that after a crash each pair can be checked for being
// all there or not there at all.
func pairBundle(n int) []byte {
	return fmt.Appendf(nil, `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-%012d","resource":{"resourceType":"Patient","id":"crash-p-%d","name":[{"family":"Crash","given":["N%d"]}]},"request":{"method":"PUT","url":"Patient/crash-p-%d"}},
{"resource":{"resourceType":"Observation","id":"crash-o-%d","status":"final","code":{"text":"pulse"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-%012d"}},"request":{"method":"PUT","url":"Observation/crash-o-%d"}}]}`,
		n, n, n, n, n, n, n)
}

// TestCrashKeepsAcknowledgedWrites kills the server with SIGKILL while
// clients post transactions, restarts it on the same data directory, and
// checks that every acknowledged transaction is there in full and that no
// transaction is there in part.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process; skipped in -short mode")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	id, secret := registerClient(t, bin, data, "physician")
	cmd, base := startServer(t, bin, data)
	client := authorised(t, base, id, secret)

	var next atomic.Int64
	var mu sync.Mutex
	acked := map[int]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := int(next.Add(1))
				resp, err := client.Post(base, "application/fhir+json", bytes.NewReader(pairBundle(n)))
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked[n] = true
					mu.Unlock()
				}
			}
		}()
	}
	// Let the writes run, then kill without warning.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		count := len(acked)
		mu.Unlock()
		if count >= 300 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	cancel()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no transaction was acknowledged before the kill")
	}

	cmd, base = startServer(t, bin, data)
	client = authorised(t, base, id, secret)
	sent := int(next.Load())
	lost, partial := 0, 0
	for n := 1; n <= sent; n++ {
		p := status(t, client, base+fmt.Sprintf("/Patient/crash-p-%d", n))
		o := status(t, client, base+fmt.Sprintf("/Observation/crash-o-%d", n))
		if acked[n] && (p != 200 || o != 200) {
			lost++
			t.Errorf("acknowledged transaction %d lost: Patient %d, Observation %d", n, p, o)
		}
		if p != o {
			partial++
			t.Errorf("transaction %d is half written: Patient %d, Observation %d", n, p, o)
		}
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	audited := auditedTransactions(t, bin, data)
	if audited < len(acked) {
		t.Errorf("%d transactions acknowledged, but only %d successful transactions audited", len(acked), audited)
	}
	t.Logf("%d transactions sent, %d acknowledged before SIGKILL; after restart %d lost, %d partial; %d audited, trail intact",
		sent, len(acked), lost, partial, audited)
}

// registerClient registers an API client with "kartehub admin client add",
// as an operator would, and returns its id and secret.
func registerClient(t *testing.T, bin, data string, roles string) (id, secret string) {
	t.Helper()
	out, err := exec.Command(bin, "admin", "client", "add", "crash test", "--role", roles, "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("admin client add: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "client_id:"); ok {
			id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		t.Fatalf("admin client add printed no id or secret:\n%s", out)
	}
	return id, secret
}

// authorised returns an HTTP client that carries an access token of the
// client id, got from the server's token endpoint.
func authorised(t *testing.T, base, id, secret string) *http.Client {
	t.Helper()
	tok, err := oauthtest.ClientCredentials(context.Background(), http.DefaultClient, strings.TrimSuffix(base, "/fhir"), id, secret, "system/*.cruds")
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return &http.Client{Transport: bearer(tok.AccessToken)}
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// auditedTransactions checks the audit trail with "kartehub audit verify"
// and counts the successful transactions it records.
func auditedTransactions(t *testing.T, bin, data string) int {
	t.Helper()
	if out, err := exec.Command(bin, "audit", "verify", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("audit verify after the crash: %v\n%s", err, out)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	for after := int64(0); ; {
		recs, err := st.AuditRecords(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if bytes.Contains(r.Event, []byte(`"code":"transaction"`)) && bytes.Contains(r.Event, []byte(`"outcome":"0"`)) {
				n++
			}
			after = r.Seq
		}
		if len(recs) < 1000 {
			return n
		}
	}
}

func status(t *testing.T, client *http.Client, url string) int {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
