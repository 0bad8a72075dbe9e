package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
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
	"kartehub/internal/karte"
	"kartehub/internal/listen"
	"kartehub/internal/oauth"
	"kartehub/internal/server"
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
	appsFile := fs.String("apps", "", "SMART apps that people may log in through: a JSON file of their client metadata (client_id, client_name, redirect_uris, post_logout_redirect_uris, scope); see docs/oauth.md")
	demo := fs.Bool("demo", false, "try kartehub: on loopback only, load demo facilities, users and synthetic patients into a new data directory (default ./kartehub-demo), and print how to log in")
	demoPatients := fs.Int("demo-patients", 200, "synthetic patients that --demo loads")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *demo {
		if !explicit(fs, "data") {
			sf.data = "./kartehub-demo"
		}
		if *insecureHTTP || sf.database != "" {
			return errors.New("--demo runs on loopback with its own embedded database: leave out --insecure-http and --database")
		}
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
	apps, err := readApps(*appsFile)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, where, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fresh, err := isFresh(ctx, st)
	if err != nil {
		return err
	}
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
	defer ln.Close()
	if *demo && !ln.Loopback() {
		return fmt.Errorf("--demo binds to loopback only, not %s", ln.Addr())
	}
	if base == "" {
		if base, err = defaultBase(ln); err != nil {
			return err
		}
	}
	srv, err := server.New(ctx, server.Config{Store: st, Dir: sf.data, Log: log, BaseURL: base,
		Accounts: account.Config{PasswordOnly: *demo}, Apps: apps})
	if err != nil {
		return err
	}
	defer srv.Close()
	if *demo && fresh {
		if err := loadDemo(commandAuthor(ctx, "serve --demo"), st, sf.data, srv.Accounts, *demoPatients, stdout, stderr); err != nil {
			return err
		}
	}
	if *demo {
		printDemoLogin(stdout, base)
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
	return serveHTTP(ctx, ln, listen.IdentifyClient(srv.Handler()), log)
}

// defaultBase is the public FHIR base when --base-url is not given: the
// listener's own URL, with the host name for an unspecified address
// (0.0.0.0). Plain HTTP beyond loopback sits behind a TLS proxy, whose
// public URL only the operator knows: tokens name it, so it must be given.
func defaultBase(ln *listen.Listener) (string, error) {
	if !ln.Loopback() && ln.TLSConfig == nil {
		return "", errors.New("--insecure-http beyond loopback needs --base-url: the public https URL of the FHIR base behind your TLS proxy, which access tokens name")
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", err
		}
	}
	return ln.Scheme() + "://" + net.JoinHostPort(host, port) + "/fhir", nil
}

// explicit reports whether the flag name was set on the command line or
// in the environment.
func explicit(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	_, env := os.LookupEnv("KARTEHUB_" + strings.ToUpper(name))
	return set || env
}

// isFresh reports whether st holds no account yet: a new data directory.
func isFresh(ctx context.Context, st karte.Store) (bool, error) {
	as, ok := st.(karte.AccountStore)
	if !ok {
		return false, nil
	}
	list, err := as.Accounts(ctx)
	return len(list) == 0, err
}

// printDemoLogin tells the person trying kartehub how to get a token.
func printDemoLogin(out io.Writer, base string) {
	issuer := strings.TrimSuffix(base, "/fhir")
	fmt.Fprintf(out, `How to log in to the demo:
  as a system, with the demo client's id and secret (printed when the demo was created):
    curl -s -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials \
         -d scope='system/*.rs' %[1]s/oauth/token
    curl -s -H "Authorization: Bearer ACCESS_TOKEN" '%[2]s/Patient?_count=5'
  as a person (physician, nurse, technologist, clerk, researcher, auditor), through a SMART app:
    the app's authorization endpoint is %[1]s/oauth/authorize (discovery: %[2]s/.well-known/smart-configuration)
`, issuer, base)
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

// readApps reads the apps file named by --apps, if any.
func readApps(name string) ([]oauth.App, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--apps: %w", err)
	}
	defer f.Close()
	apps, err := oauth.ReadApps(f)
	if err != nil {
		return nil, fmt.Errorf("--apps %s: %w", name, err)
	}
	return apps, nil
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
