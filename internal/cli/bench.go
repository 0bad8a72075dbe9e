package cli

import (
	"context"
	"fmt"
	"io"
	"kartehub/internal/synthea"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"kartehub/internal/bench"
	"kartehub/internal/fhirimport"
	"kartehub/internal/karte"
	"kartehub/internal/record"
	"kartehub/internal/store/sqlite"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	sample := fs.String("synthea", "../shared/data/synthea", "directory of Synthea transaction Bundles to import")
	duration := fs.Duration("duration", 10*time.Second, "how long each HTTP load runs")
	clients := fs.Int("clients", 8, "concurrent HTTP clients")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the import phase to this file")
	importOnly := fs.Bool("import-only", false, "measure the import only (with its raw baseline)")
	if err := parse(fs, args); err != nil {
		return err
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
	fmt.Fprintf(stdout, "kartehub bench: %d CPUs, %s/%s, embedded SQLite in %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, dir)

	st, err := sqlite.Open(ctx, filepath.Join(dir, "kartehub.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	stopProfile, err := startProfile(*cpuprofile)
	if err != nil {
		return err
	}
	sum, err := (&fhirimport.Importer{Sink: record.New(st)}).Run(ctx, files)
	stopProfile()
	if err != nil {
		return err
	}
	if len(sum.Failures) > 0 {
		return fmt.Errorf("import: %d failures, first: %v", len(sum.Failures), sum.Failures[0])
	}
	fmt.Fprintf(stdout, "import        %d resources from %d files in %.2f s: %.0f resources/s\n",
		sum.Resources, sum.Files, sum.Elapsed.Seconds(), sum.Rate())

	if err := benchRaw(stdout, dir, files, sum.Rate()); err != nil || *importOnly {
		return err
	}
	return benchHTTP(ctx, stdout, st, *clients, *duration)
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

func benchRaw(stdout io.Writer, dir string, files []string, importRate float64) error {
	bodies, n, err := bench.ResourceBytes(files)
	if err != nil {
		return err
	}
	took, err := bench.RawInserts(dir, bodies)
	if err != nil {
		return err
	}
	raw := float64(n) / took.Seconds()
	fmt.Fprintf(stdout, "raw sqlite    %d resources in %.2f s: %.0f resources/s (same JSON bytes, bare table, one transaction per file)\n", n, took.Seconds(), raw)
	fmt.Fprintf(stdout, "import ratio  %.3f (kartehub import rate / raw insert rate)\n", importRate/raw)
	return nil
}

func benchHTTP(ctx context.Context, stdout io.Writer, st karte.Store, clients int, d time.Duration) error {
	refs, err := sampleRefs(ctx, st, 20000)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: NewHandler(st, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String() + "/fhir"
	reads := bench.Reads(ctx, base, refs, clients, d)
	fmt.Fprintf(stdout, "read          %d clients, %d distinct resources: %s\n", clients, len(refs), reads)
	tx := bench.Transactions(ctx, base, clients, d)
	fmt.Fprintf(stdout, "transaction   %d clients, Patient+Observation per Bundle: %s\n", clients, tx)
	return nil
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
