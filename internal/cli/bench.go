package cli

import (
	"context"
	"fmt"
	"io"
	"kartehub/internal/account"
	"kartehub/internal/server"
	"kartehub/internal/synthea"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"kartehub/internal/bench"
	"kartehub/internal/fhirimport"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "search" {
		return runBenchSearch(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("bench", stderr)
	sample := fs.String("synthea", "../shared/data/synthea", "directory of Synthea transaction Bundles to import")
	duration := fs.Duration("duration", 10*time.Second, "how long each HTTP load runs")
	clients := fs.Int("clients", 8, "concurrent HTTP clients")
	authClients := fs.Int("auth-clients", 64, "concurrent HTTP clients of the comparison of reads with authorisation and audit on and off")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the import phase to this file")
	turns := fs.Int("turns", 5, "the comparison of reads alternates between the servers with authorisation and audit off and on this many times")
	readProfile := fs.String("cpuprofile-reads", "", "write CPU profiles (pprof) of the comparison of reads to PREFIX.off and PREFIX.on (the comparison then runs in one turn)")
	importOnly := fs.Bool("import-only", false, "measure the import only (with its raw baseline)")
	rounds := fs.Int("rounds", 3, "import rounds; the median is reported")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rounds < 1 {
		return fmt.Errorf("--rounds must be at least 1")
	}
	lessGC()
	files, err := synthea.Files(*sample)
	if err != nil {
		return fmt.Errorf("%w (set --synthea)", err)
	}
	dir, err := os.MkdirTemp("", "kartehub-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stdout, "kartehub bench: %d CPUs, %s/%s, embedded SQLite in %s, median of %d rounds\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, dir, *rounds)
	bodies, n, err := bench.ResourceBytes(files)
	if err != nil {
		return err
	}
	var st karte.Store
	var imports, raws []float64
	for r := range *rounds {
		if st != nil {
			st.Close()
		}
		var sum *fhirimport.Summary
		st, sum, err = benchImport(ctx, filepath.Join(dir, fmt.Sprint("import-", r)), files, *cpuprofile)
		if err != nil {
			return err
		}
		took, err := bench.RawInserts(filepath.Join(dir, fmt.Sprint("raw-", r)), bodies)
		if err != nil {
			return err
		}
		imports, raws = append(imports, sum.Rate()), append(raws, float64(n)/took.Seconds())
		fmt.Fprintf(stdout, "  round %d: import %d resources from %d files in %.2f s (%.0f/s); raw %d inserts in %.2f s (%.0f/s)\n",
			r+1, sum.Resources, sum.Files, sum.Elapsed.Seconds(), sum.Rate(), n, took.Seconds(), raws[r])
		*cpuprofile = "" // profile the first round only
	}
	defer st.Close()
	imp, raw := median(imports), median(raws)
	fmt.Fprintf(stdout, "import        %.0f resources/s (target >= 5000)\n", imp)
	fmt.Fprintf(stdout, "raw sqlite    %.0f inserts/s (the same JSON bytes into a bare table, one transaction per file, same page size and durability)\n", raw)
	fmt.Fprintf(stdout, "import ratio  %.3f (target >= 0.15)\n", imp/raw)
	if *importOnly {
		return nil
	}
	return benchHTTP(ctx, stdout, st, httpLoad{*clients, *authClients, *duration, *turns, *readProfile})
}

// benchImport imports files into a new store in dir and returns the store,
// still open, with the import's summary.
func benchImport(ctx context.Context, dir string, files []string, cpuprofile string) (karte.Store, *fhirimport.Summary, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kartehub.db"))
	if err != nil {
		return nil, nil, err
	}
	stopProfile, err := startProfile(cpuprofile)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	sum, err := (&fhirimport.Importer{Sink: newRecord(st)}).Run(ctx, files)
	stopProfile()
	if err == nil && len(sum.Failures) > 0 {
		err = fmt.Errorf("import: %d failures, first: %v", len(sum.Failures), sum.Failures[0])
	}
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, sum, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// startProfile starts a CPU profile into path, if path is set.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// httpLoad is what the HTTP phases of the benchmark run.
type httpLoad struct {
	clients, authClients int
	d                    time.Duration
	turns                int    // of the read comparison
	profile              string // prefix of the read comparison's CPU profiles, or ""
}

func benchHTTP(ctx context.Context, stdout io.Writer, st karte.Store, l httpLoad) error {
	refs, err := sampleRefs(ctx, st, 20000)
	if err != nil {
		return err
	}
	guarded, srv, stop, err := startBenchServer(ctx, st, true)
	if err != nil {
		return err
	}
	defer stop()
	reads := bench.Reads(ctx, guarded, refs, l.clients, l.d)
	fmt.Fprintf(stdout, "read          %d clients, %d distinct resources, authorised and audited: %s (target p50 <= 1 ms, >= 5000/s)\n", l.clients, len(refs), reads)
	tx := bench.Transactions(ctx, guarded, l.clients, l.d)
	fmt.Fprintf(stdout, "transaction   %d clients, Patient+Observation per Bundle, authorised and audited: %s (target >= 1000/s)\n", l.clients, tx)
	return benchGuard(ctx, stdout, st, refs, guarded, srv, l)
}

// benchGuard compares reads with authorisation and audit on (guarded)
// and off, at the same load.
func benchGuard(ctx context.Context, stdout io.Writer, st karte.Store, refs []string, guarded bench.Target, srv *server.Server, l httpLoad) error {
	open, _, stop, err := startBenchServer(ctx, st, false)
	if err != nil {
		return err
	}
	defer stop()
	clients := l.authClients
	before := srv.AuditStats()
	off, on, turns, err := compareReads(ctx, open, guarded, refs, l)
	if err != nil {
		return err
	}
	after := srv.AuditStats()
	fmt.Fprintf(stdout, "read, auth+audit off  %d clients: %s\n", clients, off)
	fmt.Fprintf(stdout, "read, auth+audit on   %d clients: %s\n", clients, on)
	events, appends := after.Records-before.Records, after.Batches-before.Batches
	fmt.Fprintf(stdout, "audit                 %d events appended durably in %d commits (%.1f per commit)\n",
		events, appends, float64(events)/float64(max(appends, 1)))
	fmt.Fprintf(stdout, "auth+audit ratio      %.3f (target >= 0.70)%s\n", on.Rate()/off.Rate(), turnRatios(turns))
	return nil
}

// compareReads measures reads on the open and the guarded server in
// turns, or, to profile each, in one turn each.
func compareReads(ctx context.Context, open, guarded bench.Target, refs []string, l httpLoad) (off, on bench.Latencies, turns []float64, err error) {
	if l.profile == "" {
		off, on, turns = bench.CompareReads(ctx, open, guarded, refs, l.authClients, l.d, l.turns)
		return off, on, turns, nil
	}
	for _, run := range []struct {
		t      bench.Target
		suffix string
		into   *bench.Latencies
	}{{open, ".off", &off}, {guarded, ".on", &on}} {
		stop, err := startProfile(l.profile + run.suffix)
		if err != nil {
			return off, on, nil, err
		}
		*run.into = bench.Reads(ctx, run.t, refs, l.authClients, l.d)
		stop()
	}
	return off, on, nil, nil
}

// turnRatios lists the ratio of each turn of a comparison of several.
func turnRatios(turns []float64) string {
	if len(turns) < 2 {
		return ""
	}
	var b strings.Builder
	b.WriteString("; turn by turn")
	for _, r := range turns {
		fmt.Fprintf(&b, " %.2f", r)
	}
	return b.String()
}

// startBenchServer serves the API on st on a loopback port: guarded (a
// token, the authoriser and the audit trail on every request, as served)
// or not (the baseline). The guarded server's client is a departmental
// system of the hub with physician rights over every facility; it gets its
// token from the server's token endpoint as any client does.
func startBenchServer(ctx context.Context, st karte.Store, guarded bool) (bench.Target, *server.Server, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return bench.Target{}, nil, nil, err
	}
	base := "http://" + ln.Addr().String() + "/fhir"
	dir, err := os.MkdirTemp("", "kartehub-bench-keys-")
	if err != nil {
		ln.Close()
		return bench.Target{}, nil, nil, err
	}
	srv, err := server.New(ctx, server.Config{Store: st, Dir: dir, BaseURL: base, Unguarded: !guarded})
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return bench.Target{}, nil, nil, err
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	stop := func() { hs.Close(); srv.Close(); os.RemoveAll(dir) }
	t := bench.Target{Base: base}
	if !guarded {
		return t, srv, stop, nil
	}
	c, secret, err := srv.Accounts.CreateClient(ctx, account.NewClient{Name: "bench", Roles: []string{karte.RolePhysician}})
	if err == nil {
		tokens := &clientTokens{base: base, id: c.ID, secret: secret, scope: "system/*.cruds"}
		t.Token, err = tokens.Token(ctx)
	}
	if err != nil {
		stop()
		return bench.Target{}, nil, nil, err
	}
	return t, srv, stop, nil
}

// sampleRefs returns up to n "Type/id" references of live resources.
func sampleRefs(ctx context.Context, st karte.Store, n int) ([]string, error) {
	seen := map[string]bool{}
	var refs []string
	q := karte.HistoryQuery{Count: 1000}
	for len(refs) < n {
		page, err := st.History(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Versions {
			ref := v.Type + "/" + v.ID
			if !v.Deleted && !seen[ref] {
				seen[ref] = true
				refs = append(refs, ref)
			}
		}
		if page.Next == 0 {
			break
		}
		q.Before = page.Next
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("no resources to read")
	}
	return refs, nil
}
