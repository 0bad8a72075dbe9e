// Package server assembles kartehub's HTTP server from its parts: the
// OAuth provider, the guard (bearer tokens, audit of every request), the
// record service with its authoriser, and the FHIR API. Commands choose
// the store and the listener; this package decides what is open and what
// is guarded, in one place:
//
//	open:    /.well-known/*, /oauth/*, /fhir/.well-known/*, /healthz, /readyz
//	audited: /fhir/metadata (no token needed: clients discover the server by it)
//	guarded: everything else under /fhir, and /jobs (administrators)
//
// Guarded means audited and authenticated, and every interaction decided
// by the authoriser. A route added later under /fhir is guarded without
// further work.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/auditapi"
	"kartehub/internal/authz"
	"kartehub/internal/cors"
	"kartehub/internal/fhirapi"
	"kartehub/internal/guard"
	"kartehub/internal/karte"
	"kartehub/internal/oauth"
	"kartehub/internal/record"
	"kartehub/internal/reindex"
	"kartehub/internal/search"
	"kartehub/internal/searchparam"
)

// Config configures a Server.
type Config struct {
	Store karte.Store
	// Dir is the data directory, which holds the keys: account.key (TOTP
	// secrets), the audit signing key, the OAuth signing key.
	Dir string
	Log *slog.Logger
	// BaseURL is the public URL of the FHIR base, such as
	// https://hub.example.jp/fhir: the audience of access tokens and the
	// base of links. The OAuth issuer is the same URL without "/fhir".
	BaseURL string
	// Apps are the SMART apps that users log in through.
	Apps []oauth.App
	// Accounts configures the account service (the zero value is the MHLW
	// policy); its Key is read from Dir.
	Accounts account.Config
	// Now is the clock of tokens, sessions and accounts; nil means
	// time.Now. Tests move it on to expire tokens.
	Now func() time.Time
	// AccountCacheTTL is how long a token's account or client is trusted
	// before it is read again (a disabled account takes effect within it):
	// zero means oauth.DefaultAccountCacheTTL, negative no cache.
	AccountCacheTTL time.Duration
	// Unguarded serves the API with neither authentication nor audit. It
	// exists for one purpose: the baseline that the read benchmark compares
	// the guarded server with. The serve command never sets it.
	Unguarded bool
}

// Server is kartehub's HTTP server, assembled. Close it to flush the audit
// trail and stop background work.
type Server struct {
	handler  http.Handler
	audit    *audit.Writer
	started  bool // the trail holds the start: Close records the stop
	cancel   context.CancelFunc
	Accounts *account.Service
	Provider *oauth.Provider
	// Record is the record service behind the API.
	Record *record.Service
}

// New assembles the server on cfg.Store. Background work (reindexing)
// runs until Close.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("server: the base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{cancel: cancel}
	if err := s.assemble(ctx, cfg); err != nil {
		cancel()
		s.Close()
		return nil, err
	}
	if s.audit != nil {
		// The trail shows when the server ran: a gap in it between a stop
		// and the next start is time when no request could be served.
		if err := s.audit.Record(ctx, &audit.Event{Type: audit.ApplicationStart, OutcomeDesc: "kartehub started"}); err != nil {
			s.Close()
			return nil, fmt.Errorf("server: the audit trail cannot record the start: %w", err)
		}
		s.started = true
	}
	return s, nil
}

func (s *Server) assemble(ctx context.Context, cfg Config) error {
	var authorizer karte.Authorizer
	if !cfg.Unguarded {
		authorizer = audit.NotingAuthorizer{Authorizer: authz.New(nil)}
	}
	svc, jobs := newRecord(ctx, cfg.Store, cfg.Log, authorizer)
	s.Record = svc
	api := fhirapi.New(svc, cfg.Log, "/fhir")
	api.Base = strings.TrimSuffix(cfg.BaseURL, "/")

	mux := http.NewServeMux()
	health(mux, cfg.Store)
	jobsHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jobs())
	})
	if cfg.Unguarded {
		mux.Handle("/fhir/", api)
		mux.Handle("/fhir", api)
		mux.Handle("GET /jobs", jobsHandler)
		s.handler = mux
		return nil
	}

	as, ok := cfg.Store.(karte.AccountStore)
	log, ok2 := cfg.Store.(karte.AuditLog)
	if !ok || !ok2 {
		return errors.New("server: the store keeps no accounts or no audit trail, so the API cannot be guarded")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return err
	}
	var err error
	if cfg.Accounts.Now == nil {
		cfg.Accounts.Now = cfg.Now
	}
	if cfg.Accounts.Key, err = account.LoadKey(cfg.Dir); err != nil {
		return err
	}
	if s.Accounts, err = account.New(as, cfg.Accounts); err != nil {
		return err
	}
	chain, err := audit.OpenChainFor(ctx, cfg.Dir, log, audit.DefaultEvery)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	s.audit = audit.NewWriter(log, chain, audit.WriterOptions{Log: cfg.Log,
		Source: audit.Source{Observer: host, BaseURL: api.Base}})

	key, err := oauth.LoadKey(cfg.Dir)
	if err != nil {
		return err
	}
	sessions, _ := cfg.Store.(karte.SessionStore)
	s.Provider, err = oauth.New(oauth.Config{
		Issuer:          strings.TrimSuffix(api.Base, "/fhir"),
		Audience:        api.Base,
		Accounts:        s.Accounts,
		Recorder:        s.audit,
		Key:             key,
		Apps:            cfg.Apps,
		AccountCacheTTL: cacheTTL(cfg.AccountCacheTTL),
		Now:             cfg.Now,
		Log:             cfg.Log,
		Sessions:        sessions,
	})
	if err != nil {
		return err
	}
	s.Provider.Register(mux)
	issuer := s.Provider.Issuer()
	api.OAuth = &fhirapi.OAuthURIs{Authorize: issuer + "/oauth/authorize", Token: issuer + "/oauth/token", Revoke: issuer + "/oauth/revoke"}

	auditor := &guard.Auditor{Recorder: s.audit, Classify: api.Classify, Fail: api.WriteError, Log: cfg.Log}
	guarded := func(h http.Handler) http.Handler {
		return auditor.Wrap(guard.Authenticate(s.Provider, api.WriteError, h))
	}
	mux.Handle("GET /fhir/metadata", auditor.Wrap(api))
	mux.Handle("/fhir/", guarded(api))
	if searcher, ok := cfg.Store.(karte.AuditSearcher); ok {
		// The trail is served from the audit log, not the record: the
		// authoriser decides by role and scope (auditors), the record tells
		// which patients the decision's facilities cover, and the
		// auditors' own searches are audited like every request.
		trail := auditapi.New(searcher, "/fhir", auditapi.Options{Base: api.Base, Log: cfg.Log, Patients: svc})
		h := guarded(guard.Authorize(authorizer, "AuditEvent", api.Classify, api.WriteError, trail))
		for _, p := range trail.Patterns() {
			mux.Handle(p, h)
		}
	}
	mux.Handle("/fhir", guarded(api))
	mux.Handle("GET /jobs", guarded(guard.RequireRole(karte.RoleAdministrator, api.WriteError, jobsHandler)))
	s.handler = cors.New(appOrigins(cfg.Apps)).Wrap(mux)
	return nil
}

// appOrigins are the origins of the apps' redirect URIs: the browser apps
// that may call the API from their own origin.
func appOrigins(apps []oauth.App) []string {
	var uris []string
	for _, a := range apps {
		uris = append(uris, a.RedirectURIs...)
	}
	return cors.Origins(uris)
}

// AuditStats counts what the server's audit writer has appended.
func (s *Server) AuditStats() audit.Stats {
	if s.audit == nil {
		return audit.Stats{}
	}
	return s.audit.Stats()
}

func cacheTTL(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return oauth.DefaultAccountCacheTTL
	case d < 0:
		return 0
	}
	return d
}

// health serves the probes of load balancers and orchestrators: they say
// whether the process and its store answer, and nothing about the data.
func health(mux *http.ServeMux, st karte.Store) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := st.Read(r.Context(), "Patient", "readiness-probe"); err != nil && !karte.IsKind(err, karte.NotFound) {
			http.Error(w, "store not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops background work and flushes the audit trail.
func (s *Server) Close() error {
	s.cancel()
	if s.audit == nil {
		return nil
	}
	if s.started {
		s.started = false
		// Signed, so that a verification right after shutdown covers
		// every record up to the stop.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.audit.Checkpoint(ctx, &audit.Event{Type: audit.ApplicationStop, OutcomeDesc: "kartehub stopped"})
		cancel()
		if err != nil {
			s.audit.Close()
			return fmt.Errorf("server: the audit trail cannot record the stop: %w", err)
		}
	}
	return s.audit.Close()
}

// newRecord returns the record service of a server: with the stored
// SearchParameters registered, and a reindex job started in the background
// whenever one is written. jobs reports the jobs' progress.
func newRecord(ctx context.Context, st karte.Store, log *slog.Logger, a karte.Authorizer) (svc *record.Service, jobs func() []reindex.Status) {
	eng := search.New(searchparam.New())
	opts := []record.Option{record.WithSearch(eng)}
	if a != nil {
		opts = append(opts, record.WithAuthorizer(a))
	}
	re, ok := st.(reindex.Engine)
	if !ok {
		return record.New(st, opts...), func() []reindex.Status { return nil }
	}
	mgr := reindex.New(re, eng.Index, log)
	eng.Pending = func(url string) bool { return mgr.Running(jobName(url)) }
	svc = record.New(st, append(opts, record.WithParamsChanged(func(ctx context.Context, url string, types []string) {
		if err := mgr.Enqueue(context.WithoutCancel(ctx), jobName(url), types); err != nil {
			log.Error("reindex", "parameter", url, "err", err)
		}
	}))...)
	if err := svc.LoadSearchParameters(ctx); err != nil {
		log.Error("loading stored SearchParameters", "err", err)
	}
	go mgr.Run(ctx)
	return svc, mgr.Status
}

func jobName(url string) string { return "reindex " + url }
