package cli_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kartehub/internal/cli"
	"kartehub/internal/listen"
)

var fhirBase = regexp.MustCompile(`fhir=(https?://\S+/fhir)`)

// running is a "kartehub serve" run by cli.Run in this process.
type running struct {
	base string   // FHIR base URL from the log
	log  []string // log lines up to the "serving" one
	stop func()   // stops the server (also done when the test ends)
}

// startServe runs cli.Run(ctx, "serve", args...) until the test ends and
// returns the FHIR base URL that it logs.
func startServe(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := cli.Run(ctx, append([]string{"serve"}, args...), io.Discard, pw)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	var exit error
	ended := sync.OnceFunc(func() { exit = <-done })
	r := &running{stop: sync.OnceFunc(func() {
		cancel()
		if ended(); exit != nil {
			t.Errorf("serve: %v", exit)
		}
	})}
	t.Cleanup(r.stop)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		r.log = append(r.log, sc.Text())
		if m := fhirBase.FindStringSubmatch(sc.Text()); m != nil {
			r.base = m[1]
			go io.Copy(io.Discard, pr)
			return r
		}
	}
	cancel()
	ended()
	t.Fatalf("serve did not log its address: %v\n%s", exit, strings.Join(r.log, "\n"))
	return nil
}

// runServeErr runs "serve" with args and returns its error; it must not
// start serving.
func runServeErr(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var log strings.Builder
	err := cli.Run(ctx, append([]string{"serve"}, args...), io.Discard, &log)
	if strings.Contains(log.String(), "kartehub serving") {
		t.Errorf("serve started: %s", log.String())
	}
	return err
}

func httpsClient(roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: certs},
		ForceAttemptHTTP2: true,
	}}
}

// metadata GETs the CapabilityStatement at base with c.
func metadata(t *testing.T, c *http.Client, base string) (*http.Response, error) {
	t.Helper()
	resp, err := c.Get(base + "/metadata")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct{ ResourceType string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("metadata: %s: %v", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || body.ResourceType != "CapabilityStatement" {
		t.Fatalf("metadata: %s, %s", resp.Status, body.ResourceType)
	}
	return resp, nil
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := pem.Decode(b)
	if p == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServeSelfSignedHTTPS(t *testing.T) {
	data := t.TempDir()
	r := startServe(t, "--data", data, "--http", "127.0.0.1:0", "--tls-self-signed")
	if !strings.HasPrefix(r.base, "https://127.0.0.1:") {
		t.Fatalf("FHIR base %s, want https://127.0.0.1:...", r.base)
	}
	cert := readCert(t, filepath.Join(data, "tls-selfsigned.crt"))
	fp := listen.Fingerprint(cert)
	if log := strings.Join(r.log, "\n"); !strings.Contains(log, "sha256="+fp) || !strings.Contains(log, "created=true") {
		t.Errorf("the log does not give the new certificate's fingerprint %s:\n%s", fp, log)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	resp, err := metadata(t, httpsClient(roots), r.base)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS state %+v, want TLS 1.3", resp.TLS)
	}
	// Plain HTTP to the HTTPS port is not served.
	if resp, err := http.Get("http" + strings.TrimPrefix(r.base, "https") + "/metadata"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the HTTPS port")
		}
	}
}

func TestServeSelfSignedReusedOnRestart(t *testing.T) {
	data := t.TempDir()
	start := func() string {
		r := startServe(t, "--data", data, "--http", "127.0.0.1:0", "--tls-self-signed")
		r.stop()
		return strings.Join(r.log, "\n")
	}
	log1 := start()
	fp := listen.Fingerprint(readCert(t, filepath.Join(data, "tls-selfsigned.crt")))
	log2 := start()
	if !strings.Contains(log2, "sha256="+fp) || !strings.Contains(log2, "created=false") {
		t.Errorf("restart did not reuse the certificate %s:\nfirst:\n%s\nsecond:\n%s", fp, log1, log2)
	}
}

func TestServeMutualTLSFromEnvironment(t *testing.T) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "clinics CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject:   pkix.Name{CommonName: "clinic-0123456789"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	client := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}

	data := t.TempDir()
	t.Setenv("KARTEHUB_TLS_SELF_SIGNED", "true")
	t.Setenv("KARTEHUB_TLS_CLIENT_CA", caFile)
	t.Setenv("KARTEHUB_TLS_MIN", "1.3")
	r := startServe(t, "--data", data, "--http", "127.0.0.1:0")
	if log := strings.Join(r.log, "\n"); !strings.Contains(log, "client_certificates=true") || !strings.Contains(log, "tls=\"TLS 1.3+\"") {
		t.Errorf("the log does not say mutual TLS 1.3:\n%s", log)
	}
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, filepath.Join(data, "tls-selfsigned.crt")))
	if _, err := metadata(t, httpsClient(roots, client), r.base); err != nil {
		t.Fatalf("client with a certificate from the CA: %v", err)
	}
	if _, err := metadata(t, httpsClient(roots), r.base); err == nil {
		t.Error("client without a certificate served")
	}
}

func TestServeRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	err := runServeErr(t, "--data", t.TempDir(), "--http", "0.0.0.0:0")
	if err == nil || !strings.Contains(err.Error(), "--insecure-http") {
		t.Fatalf("err = %v, want a refusal that names --insecure-http", err)
	}
	t.Log(err)
	err = runServeErr(t, "--data", t.TempDir(), "--http", "0.0.0.0:0", "--insecure-http")
	if err == nil || !strings.Contains(err.Error(), "--base-url") {
		t.Fatalf("err = %v, want a refusal that asks for --base-url", err)
	}
	r := startServe(t, "--data", t.TempDir(), "--http", "0.0.0.0:0", "--insecure-http", "--base-url", "https://hub.example.jp/fhir")
	if !strings.HasPrefix(r.base, "http://") {
		t.Errorf("FHIR base %s", r.base)
	}
	if log := strings.Join(r.log, "\n"); !strings.Contains(log, "not encrypted") {
		t.Errorf("no warning about plain HTTP:\n%s", log)
	}
}

func TestServePlainHTTPOnLoopback(t *testing.T) {
	r := startServe(t, "--data", t.TempDir(), "--http", "127.0.0.1:0")
	if !strings.HasPrefix(r.base, "http://127.0.0.1:") {
		t.Fatalf("FHIR base %s", r.base)
	}
	if _, err := metadata(t, http.DefaultClient, r.base); err != nil {
		t.Fatal(err)
	}
}

func TestServeTLSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", "x.crt"}, "--tls-key"},
		{"key without cert", []string{"--tls-key", "x.key"}, "--tls-cert"},
		{"self-signed and cert", []string{"--tls-self-signed", "--tls-cert", "x.crt", "--tls-key", "x.key"}, "exclude"},
		{"client CA without TLS", []string{"--tls-client-ca", "ca.pem"}, "needs TLS"},
		{"min 1.3 without TLS", []string{"--tls-min", "1.3"}, "needs TLS"},
		{"min 1.1", []string{"--tls-self-signed", "--tls-min", "1.1"}, "--tls-min"},
		{"cert file absent", []string{"--tls-cert", filepath.Join(dir, "absent.crt"), "--tls-key", filepath.Join(dir, "absent.key")}, "absent.crt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := runServeErr(t, append([]string{"--data", dir, "--http", "127.0.0.1:0"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q", err, tt.want)
			}
			t.Log(err)
		})
	}
}
