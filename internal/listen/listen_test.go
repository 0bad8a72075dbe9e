package listen_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kartehub/internal/listen"
)

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(tb testing.TB, name string) *testCA {
	tb.Helper()
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

// issue returns a certificate signed by ca for cn with the extended key
// usage eku; server certificates get cn as their DNS name and 127.0.0.1.
func (ca *testCA) issue(tb testing.TB, cn string, eku x509.ExtKeyUsage) tls.Certificate {
	tb.Helper()
	key := newKey(tb)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Satellite Clinic"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{eku},
	}
	if eku == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = []string{cn}
		tmpl.IPAddresses = append(tmpl.IPAddresses, []byte{127, 0, 0, 1})
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// writeCA writes the CA certificate as PEM and returns the file's path.
func (ca *testCA) writeCA(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "ca.pem")
	writePEM(tb, path, "CERTIFICATE", ca.cert.Raw)
	return path
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func writePEM(tb testing.TB, path, typ string, der []byte) {
	tb.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// server is a listener served by a handler that records the client
// certificate of each request.
type server struct {
	ln    *listen.Listener
	calls atomic.Int64
	peer  atomic.Pointer[x509.Certificate]
}

// serve opens cfg (on 127.0.0.1:0 unless it says otherwise) and serves
// requests on it until the test ends.
func serve(tb testing.TB, cfg listen.Config) *server {
	tb.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	ln, err := listen.Open(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{ln: ln}
	h := listen.IdentifyClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if c := listen.ClientCertificate(r.Context()); c != nil {
			s.peer.Store(c)
			io.WriteString(w, c.Subject.CommonName)
		}
	}))
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)} // refused handshakes are expected
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return s
}

// get requests / from s with a client configured by tc; it returns the
// body and the TLS state of the response.
func (s *server) get(tc *tls.Config) (string, *tls.ConnectionState, error) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get(s.ln.URL("/"))
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", nil, errors.New(resp.Status)
	}
	return string(b), resp.TLS, err
}

// selfSignedRoots trusts the self-signed certificate of ln.
func selfSignedRoots(ln *listen.Listener) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ln.Certificate)
	return p
}

func TestSelfSignedCreatedThenReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet: created
	now := time.Now()
	names := []string{"localhost", "127.0.0.1", "::1", "hub.example.jp"}
	cert, info, err := listen.SelfSigned(dir, names, now)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Created {
		t.Error("first call: Created = false")
	}
	leaf := cert.Leaf
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key is %v, want ECDSA", leaf.PublicKeyAlgorithm)
	}
	if curve := leaf.PublicKey.(*ecdsa.PublicKey).Curve; curve != elliptic.P256() {
		t.Errorf("curve %v, want P-256", curve.Params().Name)
	}
	if leaf.IsCA {
		t.Error("the self-signed certificate is a CA: trusting it would trust whatever its key signs")
	}
	for _, n := range names {
		if err := leaf.VerifyHostname(n); err != nil {
			t.Errorf("certificate does not cover %s: %v", n, err)
		}
	}
	if err := leaf.VerifyHostname("other.example.jp"); err == nil {
		t.Error("certificate covers a name not asked for")
	}
	for file, want := range map[string]os.FileMode{listen.SelfSignedKeyFile: 0o600, listen.SelfSignedCertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", file, fi.Mode().Perm(), want)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}

	// A later start reuses it, and says which new names it lacks.
	again, info, err := listen.SelfSigned(dir, append(names, "192.0.2.10"), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if info.Created {
		t.Error("second call: Created = true, want the certificate reused")
	}
	if listen.Fingerprint(again.Leaf) != listen.Fingerprint(leaf) {
		t.Error("second call: another certificate")
	}
	if !slices.Equal(info.Missing, []string{"192.0.2.10"}) {
		t.Errorf("Missing = %q, want [192.0.2.10]", info.Missing)
	}

	// Once expired it is replaced.
	renewed, info, err := listen.SelfSigned(dir, names, leaf.NotAfter.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Created || listen.Fingerprint(renewed.Leaf) == listen.Fingerprint(leaf) {
		t.Errorf("expired certificate not replaced (Created = %v)", info.Created)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("data directory holds %d files, want the certificate and key only", len(entries))
	}
}

func TestSelfSignedUnreadableIsAnError(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{listen.SelfSignedCertFile, listen.SelfSignedKeyFile} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not PEM"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := listen.SelfSigned(dir, []string{"localhost"}, time.Now()); err == nil {
		t.Fatal("no error for an unreadable certificate")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, listen.SelfSignedCertFile)); string(b) != "not PEM" {
		t.Error("the unreadable certificate was overwritten")
	}
}

func TestNames(t *testing.T) {
	host, _ := os.Hostname()
	base := []string{"localhost", "127.0.0.1", "::1"}
	for _, tt := range []struct {
		host      string
		want, not []string
	}{
		{"127.0.0.1", base, nil},
		{"192.0.2.10", append(base, "192.0.2.10"), nil},
		{"Hub.Example.JP", append(base, "hub.example.jp"), nil},
		{"0.0.0.0", base, []string{"0.0.0.0"}},
		{"", base, []string{""}},
	} {
		t.Run(tt.host, func(t *testing.T) {
			got := listen.Names(tt.host)
			for _, w := range append(tt.want, strings.ToLower(host)) {
				if w != "" && !slices.Contains(got, w) {
					t.Errorf("Names(%q) = %q, lacks %q", tt.host, got, w)
				}
			}
			for _, n := range tt.not {
				if slices.Contains(got, n) {
					t.Errorf("Names(%q) = %q, has %q", tt.host, got, n)
				}
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	ca := newCA(t, "fingerprint")
	sum := sha256.Sum256(ca.cert.Raw)
	want := strings.ToUpper(hex.EncodeToString(sum[:]))
	got := listen.Fingerprint(ca.cert)
	if strings.ReplaceAll(got, ":", "") != want || len(got) != 32*3-1 {
		t.Errorf("Fingerprint = %s, want %s in colon-separated pairs", got, want)
	}
}

func TestTLSVersions(t *testing.T) {
	s := serve(t, listen.Config{SelfSignedDir: t.TempDir()})
	roots := selfSignedRoots(s.ln)

	t.Run("1.3", func(t *testing.T) {
		_, st, err := s.get(&tls.Config{RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != tls.VersionTLS13 {
			t.Errorf("negotiated %s, want TLS 1.3 when the client has it", tls.VersionName(st.Version))
		}
	})
	t.Run("1.2", func(t *testing.T) {
		_, st, err := s.get(&tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != tls.VersionTLS12 {
			t.Errorf("negotiated %s, want TLS 1.2", tls.VersionName(st.Version))
		}
		if !slices.Contains(listen.CipherSuites(), st.CipherSuite) {
			t.Errorf("cipher suite %s not in the allowed list", tls.CipherSuiteName(st.CipherSuite))
		}
	})
	t.Run("1.1 refused", func(t *testing.T) {
		_, _, err := s.get(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			t.Fatal("TLS 1.1 accepted")
		}
		t.Log(err)
	})
	t.Run("1.2 CBC refused", func(t *testing.T) {
		_, _, err := s.get(&tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}})
		if err == nil {
			t.Fatal("a CBC cipher suite accepted")
		}
		t.Log(err)
	})
	if s.calls.Load() != 2 {
		t.Errorf("handler called %d times, want 2", s.calls.Load())
	}
}

func TestMinVersion13Refuses12(t *testing.T) {
	s := serve(t, listen.Config{SelfSignedDir: t.TempDir(), MinVersion: tls.VersionTLS13})
	roots := selfSignedRoots(s.ln)
	if _, _, err := s.get(&tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("TLS 1.2 accepted with MinVersion 1.3")
	}
	if _, st, err := s.get(&tls.Config{RootCAs: roots}); err != nil || st.Version != tls.VersionTLS13 {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
}

func TestCipherSuitesAreECDHEWithAEAD(t *testing.T) {
	secure := map[uint16]*tls.CipherSuite{}
	for _, cs := range tls.CipherSuites() {
		secure[cs.ID] = cs
	}
	for _, id := range listen.CipherSuites() {
		cs := secure[id]
		if cs == nil {
			t.Errorf("%s is not among Go's secure cipher suites", tls.CipherSuiteName(id))
			continue
		}
		if !strings.HasPrefix(cs.Name, "TLS_ECDHE_") || !(strings.Contains(cs.Name, "_GCM_") || strings.Contains(cs.Name, "CHACHA20_POLY1305")) {
			t.Errorf("%s is not ECDHE with AEAD", cs.Name)
		}
		if !slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			t.Errorf("%s is not a TLS 1.2 suite", cs.Name)
		}
	}
}

func TestMutualTLS(t *testing.T) {
	ca := newCA(t, "kartehub clinics CA")
	other := newCA(t, "someone else's CA")
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			s := serve(t, listen.Config{SelfSignedDir: t.TempDir(), ClientCAFile: ca.writeCA(t)})
			roots := selfSignedRoots(s.ln)
			client := ca.issue(t, "clinic-0123456789", x509.ExtKeyUsageClientAuth)

			body, st, err := s.get(&tls.Config{RootCAs: roots, MaxVersion: v, Certificates: []tls.Certificate{client}})
			if err != nil {
				t.Fatalf("client with a certificate from the CA: %v", err)
			}
			if st.Version != v {
				t.Errorf("negotiated %s", tls.VersionName(st.Version))
			}
			if body != "clinic-0123456789" {
				t.Errorf("handler saw client %q", body)
			}
			peer := s.peer.Load()
			if peer == nil || peer.Subject.String() != client.Leaf.Subject.String() {
				t.Fatalf("ClientCertificate = %v, want subject %s", peer, client.Leaf.Subject)
			}
			if listen.Fingerprint(peer) != listen.Fingerprint(client.Leaf) {
				t.Error("the certificate in the context is not the client's")
			}

			calls := s.calls.Load()
			// Refusals must come from the TLS handshake (an alert), not
			// from HTTP.
			refused := func(what string, tc *tls.Config) {
				t.Helper()
				if _, _, err := s.get(tc); err == nil {
					t.Errorf("client %s served", what)
					return
				}
				// Under TLS 1.3 the client finishes its side of the
				// handshake before the server checks its certificate, so
				// the alert comes with the first read.
				conn, err := tls.Dial("tcp", s.ln.Addr().String(), tc)
				if err == nil {
					conn.SetDeadline(time.Now().Add(5 * time.Second))
					_, err = conn.Read(make([]byte, 1))
					conn.Close()
				}
				if err == nil || !strings.Contains(err.Error(), "remote error: tls:") {
					t.Errorf("client %s: %v, want a TLS alert", what, err)
				}
				t.Logf("client %s: %v", what, err)
			}
			refused("without a certificate", &tls.Config{RootCAs: roots, MaxVersion: v})
			stranger := other.issue(t, "clinic-0123456789", x509.ExtKeyUsageClientAuth)
			// Go's client sends only a certificate from a CA that the
			// server names, so force it to send the stranger.
			refused("with a certificate from another CA", &tls.Config{RootCAs: roots, MaxVersion: v,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &stranger, nil }})
			selfMade := newCA(t, "clinic-0123456789")
			refused("with a self-signed certificate", &tls.Config{RootCAs: roots, MaxVersion: v,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					return &tls.Certificate{Certificate: [][]byte{selfMade.cert.Raw}, PrivateKey: selfMade.key}, nil
				}})
			if n := s.calls.Load(); n != calls {
				t.Errorf("refused clients reached the handler %d times", n-calls)
			}
		})
	}
}

func TestCertificateFiles(t *testing.T) {
	ca := newCA(t, "hospital CA")
	cert := ca.issue(t, "localhost", x509.ExtKeyUsageServerAuth)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writePEM(t, certFile, "CERTIFICATE", cert.Certificate[0])
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", der)

	s := serve(t, listen.Config{CertFile: certFile, KeyFile: keyFile})
	if s.ln.Scheme() != "https" || !strings.HasPrefix(s.ln.URL("/fhir"), "https://127.0.0.1:") {
		t.Errorf("URL = %s", s.ln.URL("/fhir"))
	}
	if _, _, err := s.get(&tls.Config{RootCAs: ca.pool()}); err != nil {
		t.Fatal(err)
	}

	for name, cfg := range map[string]listen.Config{
		"key missing":           {CertFile: certFile},
		"key file absent":       {CertFile: certFile, KeyFile: filepath.Join(dir, "absent.key")},
		"self-signed and files": {CertFile: certFile, KeyFile: keyFile, SelfSignedDir: dir},
		"client CA without TLS": {ClientCAFile: certFile},
		"client CA not PEM":     {CertFile: certFile, KeyFile: keyFile, ClientCAFile: keyFile},
		"TLS 1.1":               {CertFile: certFile, KeyFile: keyFile, MinVersion: tls.VersionTLS11},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Addr = "127.0.0.1:0"
			ln, err := listen.Open(cfg)
			if err == nil {
				ln.Close()
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
}

func TestPlaintextOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		ln, err := listen.Open(listen.Config{Addr: addr})
		if err != nil {
			if addr == "[::1]:0" && !errors.Is(err, listen.ErrPlaintext) {
				t.Logf("%s: %v (no IPv6 here)", addr, err)
				continue
			}
			t.Errorf("%s: %v", addr, err)
			continue
		}
		if ln.Scheme() != "http" || !ln.Loopback() {
			t.Errorf("%s: scheme %s, loopback %v", addr, ln.Scheme(), ln.Loopback())
		}
		ln.Close()
	}
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		_, err := listen.Open(listen.Config{Addr: addr})
		if !errors.Is(err, listen.ErrPlaintext) {
			t.Errorf("%s: err = %v, want ErrPlaintext", addr, err)
		}
		ln, err := listen.Open(listen.Config{Addr: addr, AllowPlaintext: true})
		if err != nil {
			t.Errorf("%s with AllowPlaintext: %v", addr, err)
			continue
		}
		ln.Close()
	}
}

func TestIdentifyClientTakesOnlyVerifiedCertificates(t *testing.T) {
	presented := newCA(t, "presented, not verified").cert
	var got *x509.Certificate
	h := listen.IdentifyClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = listen.ClientCertificate(r.Context())
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{presented}}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != nil {
		t.Error("an unverified certificate reached the context")
	}
	r.TLS.VerifiedChains = [][]*x509.Certificate{{presented}}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != presented {
		t.Error("the verified certificate did not reach the context")
	}
}
