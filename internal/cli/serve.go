package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/fhirapi"
	"kartehub/internal/karte"
	"kartehub/internal/listen"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP listen address (FHIR API at /fhir); plain HTTP only on loopback unless --insecure-http")
	baseURL := fs.String("base-url", "", "public URL of the FHIR base, e.g. https://hub.example.jp/fhir, for links in responses (default: from each request's Host)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (chain) file, PEM")
	tlsKey := fs.String("tls-key", "", "private key file of --tls-cert, PEM")
	tlsSelfSigned := fs.Bool("tls-self-signed", false, "serve HTTPS with a self-signed ECDSA certificate kept in --data (tls-selfsigned.crt/.key), for trials: clients pin its fingerprint")
	tlsClientCA := fs.String("tls-client-ca", "", "require client certificates signed by a CA in this file, PEM (mutual TLS)")
	tlsMin := fs.String("tls-min", "1.2", "lowest TLS version accepted: 1.2 or 1.3 (1.3 is preferred whenever the client has it)")
	insecureHTTP := fs.Bool("insecure-http", false, "allow plain, unencrypted HTTP on an address that is not loopback (e.g. behind a TLS proxy on a trusted network)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	base, err := checkBaseURL(*baseURL)
	if err != nil {
		return err
	}
	minTLS, err := listen.ParseVersion(*tlsMin)
	if err != nil {
		return fmt.Errorf("--tls-min: %w", err)
	}
	lc := listen.Config{Addr: *httpAddr, CertFile: *tlsCert, KeyFile: *tlsKey, ClientCAFile: *tlsClientCA, MinVersion: minTLS, AllowPlaintext: *insecureHTTP}
	if *tlsSelfSigned {
		lc.SelfSignedDir = sf.data
	}
	switch {
	case *tlsSelfSigned && (*tlsCert != "" || *tlsKey != ""):
		return errors.New("--tls-self-signed and --tls-cert/--tls-key exclude each other: give one")
	case (*tlsCert == "") != (*tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together: give both")
	case !lc.TLS() && *tlsClientCA != "":
		return errors.New("--tls-client-ca needs TLS: give --tls-cert and --tls-key, or --tls-self-signed")
	case !lc.TLS() && minTLS != tls.VersionTLS12:
		return errors.New("--tls-min needs TLS: give --tls-cert and --tls-key, or --tls-self-signed")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, where, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bootstrapAdmin(ctx, st, sf.data, stdout); err != nil {
		return err
	}
	ln, err := listen.Open(lc)
	if errors.Is(err, listen.ErrPlaintext) {
		return fmt.Errorf("--http %s: refusing plain HTTP on an address that is not loopback: serve HTTPS with --tls-cert and --tls-key or --tls-self-signed, or accept unencrypted traffic with --insecure-http", *httpAddr)
	}
	if err != nil {
		return fmt.Errorf("--http %s: %w", *httpAddr, err)
	}
	serving := []any{"version", version, "store", where, "http", ln.Addr().String()}
	if c := ln.Certificate; c != nil {
		certLog := []any{"subject", c.Subject.String(), "sha256", listen.Fingerprint(c), "pin_sha256", listen.PublicKeyPin(c), "expires", c.NotAfter.UTC().Format(time.RFC3339)}
		if s := ln.SelfSigned; s != nil {
			certLog = append(certLog, "self_signed", s.CertFile, "created", s.Created)
			if len(s.Missing) > 0 {
				log.Warn("the self-signed certificate does not cover these names: delete it to have a new one made", "names", s.Missing, "file", s.CertFile)
			}
		}
		log.Info("TLS certificate", certLog...)
		if time.Now().After(c.NotAfter) {
			log.Warn("the TLS certificate has expired: clients will refuse it", "expired", c.NotAfter.UTC().Format(time.RFC3339))
		}
		for _, ca := range ln.ClientCAs {
			log.Info("client certificates required", "ca", ca.Subject.String(), "ca_sha256", listen.Fingerprint(ca))
		}
		serving = append(serving, "tls", tls.VersionName(ln.TLSConfig.MinVersion)+"+", "client_certificates", ln.ClientCAs != nil)
	} else if !ln.Loopback() {
		log.Warn("serving plain HTTP on an address that is not loopback (--insecure-http): traffic is not encrypted", "http", ln.Addr().String())
	}
	log.Info("kartehub serving", append(serving, "fhir", ln.URL("/fhir"))...)
	return serveHTTP(ctx, ln, listen.IdentifyClient(handler(ctx, st, log, base)), log)
}

// NewHandler returns kartehub's HTTP handler on store st: the FHIR API at
// /fhir, the health endpoints and the status of background jobs. Its
// background work runs until the process ends; servers use Handler.
func NewHandler(st karte.Store, log *slog.Logger) http.Handler {
	return Handler(context.Background(), st, log)
}

// Handler is NewHandler with background work (reindexing) bound to ctx.
func Handler(ctx context.Context, st karte.Store, log *slog.Logger) http.Handler {
	return handler(ctx, st, log, "")
}

// handler builds the HTTP handler; base, if set, is the public FHIR base.
func handler(ctx context.Context, st karte.Store, log *slog.Logger, base string) http.Handler {
	mux := http.NewServeMux()
	svc, jobs := newService(ctx, st, log)
	api := fhirapi.New(svc, log, "/fhir")
	api.Base = base
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jobs())
	})
	mux.Handle("/fhir/", api)
	mux.Handle("POST /fhir", api) // batch and transaction at the bare base
	mux.Handle("GET /fhir", api)  // a system search, or without parameters the CapabilityStatement
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := st.Read(r.Context(), "Patient", "readiness-probe"); err != nil && !karte.IsKind(err, karte.NotFound) {
			http.Error(w, "store not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// serveHTTP serves until ctx ends, then drains requests in flight for up
// to 10 seconds.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bootstrapAdmin creates the administrator account on a store that has no
// account yet, and shows its one-time password on the console, once. The
// password goes to stdout, not to the log: logs are kept and shipped, and a
// secret must never be in them.
func bootstrapAdmin(ctx context.Context, st karte.Store, dir string, stdout io.Writer) error {
	as, ok := st.(karte.AccountStore)
	if !ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := account.LoadKey(dir)
	if err != nil {
		return err
	}
	svc, err := account.New(as, account.Config{Key: key})
	if err != nil {
		return err
	}
	login, pw, created, err := svc.EnsureAdmin(ctx)
	if err != nil || !created {
		return err
	}
	fmt.Fprintf(stdout, "Created the administrator account %q with the one-time password\n\n    %s\n\n"+
		"It is shown only this once. Change it and enrol a TOTP authenticator at the first login.\n", login, pw)
	return nil
}

// checkBaseURL validates --base-url: an absolute http(s) URL, kept without
// a trailing slash.
func checkBaseURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--base-url %q: want an absolute http(s) URL such as https://hub.example.jp/fhir", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}
