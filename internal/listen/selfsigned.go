package listen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names of the self-signed certificate and its key in their directory.
const (
	SelfSignedCertFile = "tls-selfsigned.crt"
	SelfSignedKeyFile  = "tls-selfsigned.key"
)

// selfSignedValidity is how long a generated certificate is valid: 825 days,
// the longest that Apple platforms accept for a TLS server certificate.
const selfSignedValidity = 825 * 24 * time.Hour

// SelfSignedInfo describes the self-signed certificate in use.
type SelfSignedInfo struct {
	CertFile, KeyFile string
	// Created is true when the certificate was generated on this call
	// (there was none, or the one there had expired).
	Created bool
	// Missing lists the names asked for that a reused certificate does not
	// cover; clients reaching the server by these names fail to verify
	// it. Deleting the files makes a new certificate on the next start.
	Missing []string
}

// SelfSigned returns the certificate kept in dir (SelfSignedCertFile and
// SelfSignedKeyFile), generating it if it is absent or expired at now: an
// ECDSA P-256 key and a certificate for names (DNS names or IP addresses)
// valid for 825 days. The key file is written with mode 0600, and dir is
// created with 0700 if needed. A certificate that is there but unreadable
// is an error, not a reason to replace it.
func SelfSigned(dir string, names []string, now time.Time) (tls.Certificate, *SelfSignedInfo, error) {
	info := &SelfSignedInfo{
		CertFile: filepath.Join(dir, SelfSignedCertFile),
		KeyFile:  filepath.Join(dir, SelfSignedKeyFile),
	}
	cert, err := tls.LoadX509KeyPair(info.CertFile, info.KeyFile)
	switch {
	case err == nil:
		if cert.Leaf == nil {
			if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
				return tls.Certificate{}, nil, fmt.Errorf("self-signed certificate in %s: %w", dir, err)
			}
		}
		if now.Before(cert.Leaf.NotAfter) {
			for _, n := range names {
				if cert.Leaf.VerifyHostname(n) != nil {
					info.Missing = append(info.Missing, n)
				}
			}
			return cert, info, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return tls.Certificate{}, nil, fmt.Errorf("self-signed certificate in %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM, keyPEM, err := generate(names, now)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	// The key first: a certificate file never refers to a key not yet there.
	if err := writeFile(info.KeyFile, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := writeFile(info.CertFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	info.Created = true
	return cert, info, nil
}

// generate makes a self-signed ECDSA P-256 certificate for names.
func generate(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"kartehub"},
			CommonName:   strings.TrimSpace("kartehub self-signed " + host),
		},
		NotBefore:             now.Add(-time.Hour), // some clock skew between server and clients
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, // and not a CA: trusting it trusts nothing else
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}

// Names returns the names a self-signed certificate for a server listening
// on host should cover: localhost, 127.0.0.1, ::1, the machine's host name,
// and host itself, or, when host is empty or unspecified (all interfaces),
// the addresses of the machine's interfaces.
func Names(host string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	add := func(n string) {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n != "" && printableASCII(n) && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if h, err := os.Hostname(); err == nil {
		add(h)
	}
	ip := net.ParseIP(host)
	switch {
	case host != "" && ip == nil:
		add(host)
	case ip != nil && !ip.IsUnspecified():
		add(ip.String())
	default:
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
				add(n.IP.String())
			}
		}
	}
	return names
}

// Fingerprint is the SHA-256 of a certificate (its DER encoding) as
// colon-separated upper-case hex, the form that
// `openssl x509 -noout -fingerprint -sha256` prints.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// PublicKeyPin is the base64 SHA-256 of a certificate's public key (its
// SubjectPublicKeyInfo), the pin that `curl --pinnedpubkey sha256//PIN`
// and RFC 7469 use.
func PublicKeyPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// writeFile writes data to path atomically (a temporary file renamed over
// it), with mode perm from the start.
func writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func printableASCII(s string) bool {
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}
