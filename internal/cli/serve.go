package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"kartehub/internal/fhirapi"
	"kartehub/internal/karte"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP listen address (FHIR API at /fhir)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, where, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", *httpAddr, err)
	}
	log.Info("kartehub serving", "version", version, "store", where, "http", ln.Addr().String(), "fhir", "http://"+ln.Addr().String()+"/fhir")
	return serveHTTP(ctx, ln, Handler(ctx, st, log), log)
}

// NewHandler returns kartehub's HTTP handler on store st: the FHIR API at
// /fhir, the health endpoints and the status of background jobs. Its
// background work runs until the process ends; servers use Handler.
func NewHandler(st karte.Store, log *slog.Logger) http.Handler {
	return Handler(context.Background(), st, log)
}

// Handler is NewHandler with background work (reindexing) bound to ctx.
func Handler(ctx context.Context, st karte.Store, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	svc, jobs := newService(ctx, st, log)
	api := fhirapi.New(svc, log, "/fhir")
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
