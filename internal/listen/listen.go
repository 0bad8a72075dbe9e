package listen

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// ErrPlaintext is wrapped by the error of Open when it refuses to serve
// plain text on an address that is not loopback.
var ErrPlaintext = errors.New("plain text on a non-loopback address")

// Config says where to listen and how to secure the connections. TLS is on
// when CertFile and KeyFile or SelfSignedDir are set.
type Config struct {
	// Addr is the TCP address to listen on, host:port.
	Addr string

	// CertFile and KeyFile are the server's certificate (chain) and
	// private key, PEM encoded.
	CertFile, KeyFile string

	// SelfSignedDir, if set instead of CertFile and KeyFile, is the
	// directory where SelfSigned keeps a generated certificate.
	SelfSignedDir string

	// ClientCAFile, if set, turns on mutual TLS: clients must present a
	// certificate that chains to one of the CA certificates (PEM) in it.
	ClientCAFile string

	// MinVersion is the lowest TLS version accepted: tls.VersionTLS12
	// (the default when zero) or tls.VersionTLS13.
	MinVersion uint16

	// AllowPlaintext allows a listener without TLS on an address that is
	// not loopback.
	AllowPlaintext bool

	// Now is the clock for the self-signed certificate's validity; nil
	// means time.Now.
	Now func() time.Time
}

// TLS reports whether the configuration asks for TLS.
func (c *Config) TLS() bool {
	return c.CertFile != "" || c.KeyFile != "" || c.SelfSignedDir != ""
}

// Listener is an open listener and what its clients need to know of it.
type Listener struct {
	net.Listener

	// TLSConfig is the TLS configuration of the connections, nil for plain
	// text.
	TLSConfig *tls.Config

	// Certificate is the server's certificate (the leaf), nil for plain
	// text.
	Certificate *x509.Certificate

	// SelfSigned describes the generated certificate when the Config asked
	// for one.
	SelfSigned *SelfSignedInfo

	// ClientCAs are the CA certificates that client certificates must
	// chain to; empty without mutual TLS.
	ClientCAs []*x509.Certificate
}

// Scheme is "https" for a TLS listener, else "http".
func (l *Listener) Scheme() string {
	if l.TLSConfig != nil {
		return "https"
	}
	return "http"
}

// URL returns the absolute URL of path on this listener, such as
// https://127.0.0.1:8443/fhir.
func (l *Listener) URL(path string) string {
	return l.Scheme() + "://" + l.Addr().String() + path
}

// Loopback reports whether the listener is bound to a loopback address only.
func (l *Listener) Loopback() bool { return isLoopback(l.Addr()) }

// Open loads the certificates that cfg names (generating the self-signed one
// if needed), then listens on cfg.Addr. Without TLS it refuses an address
// that is not loopback unless cfg.AllowPlaintext; the error then wraps
// ErrPlaintext. The listener hands out *tls.Conn when TLS is on.
func Open(cfg Config) (*Listener, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Listener{}
	if cfg.TLS() {
		if err := l.configure(cfg); err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
	} else if cfg.ClientCAFile != "" {
		return nil, errors.New("client certificates need TLS: no server certificate given")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	if l.TLSConfig == nil && !cfg.AllowPlaintext && !isLoopback(ln.Addr()) {
		ln.Close()
		return nil, fmt.Errorf("%s: %w", ln.Addr(), ErrPlaintext)
	}
	if l.TLSConfig != nil {
		ln = tls.NewListener(ln, l.TLSConfig)
	}
	l.Listener = ln
	return l, nil
}

// configure builds l's TLS configuration from cfg.
func (l *Listener) configure(cfg Config) error {
	var cert tls.Certificate
	switch {
	case cfg.SelfSignedDir != "" && (cfg.CertFile != "" || cfg.KeyFile != ""):
		return errors.New("a self-signed certificate and a certificate file are exclusive: give one")
	case cfg.SelfSignedDir != "":
		host, _, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return err
		}
		var info *SelfSignedInfo
		cert, info, err = SelfSigned(cfg.SelfSignedDir, Names(host), cfg.Now())
		if err != nil {
			return err
		}
		l.SelfSigned = info
	case cfg.CertFile == "" || cfg.KeyFile == "":
		return errors.New("a certificate needs both its file and its key file")
	default:
		var err error
		cert, err = tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return fmt.Errorf("server certificate %s with key %s: %w", cfg.CertFile, cfg.KeyFile, err)
		}
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("server certificate: %w", err)
		}
		cert.Leaf = leaf
	}
	minVersion := cfg.MinVersion
	if minVersion == 0 {
		minVersion = tls.VersionTLS12
	}
	if minVersion != tls.VersionTLS12 && minVersion != tls.VersionTLS13 {
		return fmt.Errorf("minimum TLS version %s: only TLS 1.2 and 1.3 are allowed", tls.VersionName(minVersion))
	}
	c := &tls.Config{
		MinVersion:   minVersion,
		CipherSuites: CipherSuites(),
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if cfg.ClientCAFile != "" {
		cas, err := readCertificates(cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		for _, ca := range cas {
			pool.AddCert(ca)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
		l.ClientCAs = cas
	}
	l.TLSConfig = c
	l.Certificate = leaf
	return nil
}

// CipherSuites are the TLS 1.2 cipher suites served: Go's defaults without
// the CBC ones, that is ECDHE key exchange (forward secrecy) with AEAD
// encryption, for ECDSA and RSA certificates. TLS 1.3 suites are all AEAD
// and not configurable.
func CipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// ParseVersion parses a minimum TLS version as given on a command line:
// "1.2" or "1.3". Older versions are refused.
func ParseVersion(s string) (uint16, error) {
	switch s {
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("TLS version %q: want 1.2 or 1.3", s)
}

// readCertificates reads every CERTIFICATE block of a PEM file; it fails if
// there is none.
func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return certs, nil
}

// isLoopback reports whether a is a loopback IP address.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
