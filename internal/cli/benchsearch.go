package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kartehub/internal/fhirimport"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
	"kartehub/internal/synth"
)

// searchQuery is one of the fixed clinical queries of the search
// benchmark; %[1]s in the path is replaced by a random patient's id.
type searchQuery struct {
	name, path string
	scoped     bool // patient-scoped: held to the tighter latency target
}

var searchQueries = []searchQuery{
	{"patient's troponin, newest first", "Observation?patient=Patient/%[1]s&code=http://loinc.org|67151-1&_sort=-date", true},
	{"patient's medications with medication", "MedicationRequest?patient=Patient/%[1]s&_include=MedicationRequest:medication", true},
	{"patient's conditions", "Condition?patient=Patient/%[1]s", true},
	{"patients named やまだ born 1950", "Patient?name=やまだ&birthdate=1950", false},
	{"hub clinic encounters since 2025", "Encounter?date=ge2025-01-01&location=Location/loc-000-1", false},
	{"troponin T results, count", "Observation?code=http://loinc.org|67151-1&_summary=count", false},
	{"all observations, count", "Observation?_summary=count", false},
	{"patients with a troponin T result", "Patient?_has:Observation:patient:code=67151-1", false},
}

// runBenchSearch loads synthetic data (once: a data directory that already
// holds it is reused) and times the fixed queries over HTTP.
func runBenchSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench search", stderr)
	data := fs.String("data", "", "data directory to load into and keep (default: a temporary one)")
	patients := fs.Int("patients", 20000, "synthetic patients to load (about 53 resources each)")
	runs := fs.Int("runs", 200, "runs of each query")
	if err := parse(fs, args); err != nil {
		return err
	}
	lessGC()
	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kartehub-bench-search-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kartehub.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := countAll(ctx, st)
	if err != nil {
		return err
	}
	if n == 0 {
		if err := loadSynthetic(ctx, st, dir, *patients, synth.DefaultFacilities, stdout, stderr); err != nil {
			return err
		}
		if n, err = countAll(ctx, st); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "kartehub bench search: %d resources in %s, %d runs of each query, one client over HTTP\n", n, dir, *runs)
	return timeQueries(ctx, st, stdout, *patients, *runs)
}

func countAll(ctx context.Context, st *sqlite.Store) (int, error) {
	res, err := st.Search(ctx, &karte.Query{Total: true})
	if err != nil {
		return 0, err
	}
	return res.Total, nil
}

// loadSynthetic generates patients of a hub and facilities satellites
// into dir/synth and imports them into st with full indexing.
func loadSynthetic(ctx context.Context, st karte.Store, dir string, patients, facilities int, stdout, stderr io.Writer) error {
	src := filepath.Join(dir, "synth")
	os.RemoveAll(src)
	sum, err := (&synth.Writer{Dir: src}).Write(ctx, synth.Config{Patients: patients, Facilities: facilities, Seed: 1})
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	fmt.Fprintln(stdout, sum)
	im := &fhirimport.Importer{Sink: newRecord(st), Progress: stderr, Interactive: isTerminal(stderr)}
	isum, err := im.Run(ctx, []string{src})
	if err != nil {
		return err
	}
	if len(isum.Failures) > 0 {
		return fmt.Errorf("import: %d failures, first: %v", len(isum.Failures), isum.Failures[0])
	}
	fmt.Fprintf(stdout, "import with full search indexing: %s\n", isum)
	return nil
}

func timeQueries(ctx context.Context, st karte.Store, stdout io.Writer, patients, runs int) error {
	target, _, stop, err := startBenchServer(ctx, st, true)
	if err != nil {
		return err
	}
	defer stop()
	base := target.Base + "/"
	client := target.Client(1)
	rnd := rand.New(rand.NewPCG(7, 7))
	for _, q := range searchQueries {
		var took []time.Duration
		results := 0
		for i := range runs {
			path := q.path
			if strings.Contains(path, "%[1]s") {
				path = fmt.Sprintf(path, fmt.Sprintf("pat-%06d", 1+rnd.IntN(max(patients, 1))))
			}
			start := time.Now()
			n, err := fetchCount(client, base+path)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			took = append(took, time.Since(start))
			if i == 0 {
				results = n
			}
		}
		slices.Sort(took)
		target := ""
		if q.scoped {
			target = " (target p50 <= 5 ms, p99 <= 50 ms)"
		} else if strings.Contains(q.path, "_summary=count") {
			target = " (target <= 200 ms)"
		}
		fmt.Fprintf(stdout, "%-40s p50 %8s  p99 %8s  first run: %d%s\n", q.name,
			ms(took[len(took)/2]), ms(took[len(took)*99/100]), results, target)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// fetchCount runs a search and returns its total, or its entry count.
func fetchCount(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", resp.Status, body)
	}
	var b struct {
		Total *int `json:"total"`
		Entry []any
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return 0, err
	}
	if b.Total != nil {
		return *b.Total, nil
	}
	return len(b.Entry), nil
}
