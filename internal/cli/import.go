package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"kartehub/internal/audit"
	"kartehub/internal/fhirimport"
	"kartehub/internal/karte"
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	var sf storeFlags
	sf.register(fs)
	url := fs.String("url", "", "FHIR base URL of a running kartehub (instead of --data/--database)")
	clientID := fs.String("client-id", "", "with --url: the API client to import as (client_credentials; see kartehub admin client)")
	clientSecret := fs.String("client-secret", "", "with --url: the client's secret; better set KARTEHUB_CLIENT_SECRET than put it on the command line")
	scope := fs.String("scope", "system/*.cu", "with --url: the scopes to ask for")
	quiet := fs.Bool("quiet", false, "no progress display")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("import needs one or more .json/.ndjson files or directories")
	}
	lessGC()
	im := &fhirimport.Importer{}
	if !*quiet {
		im.Progress, im.Interactive = stderr, isTerminal(stderr)
	}
	if *url != "" {
		if *clientID == "" || *clientSecret == "" {
			return fmt.Errorf("--url needs --client-id and --client-secret (or KARTEHUB_CLIENT_SECRET): the server accepts only authenticated clients")
		}
		tokens := &clientTokens{base: *url, id: *clientID, secret: *clientSecret, scope: *scope}
		im.Sink = &fhirimport.Remote{Base: *url, Token: tokens.Token}
	} else {
		st, _, err := sf.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		// Over the API every request is audited; here the import itself is,
		// once, and not at all if the trail cannot take it.
		trail, err := openOperatorTrail(ctx, st, sf.data)
		if err != nil {
			return fmt.Errorf("the audit trail cannot record the import: %w", err)
		}
		defer trail.close()
		im.Sink = newRecord(st)
		sum, err := im.Run(ctx, fs.Args())
		if rerr := trail.record(ctx, importEvent(trail, fs.Args(), sum, err)); err == nil {
			err = rerr
		}
		if a, ok := st.(karte.Analyzer); ok && err == nil && sum.Resources > 0 {
			// Searches are planned from statistics that predate the load
			// until this runs (or autovacuum does, some time later).
			if !*quiet {
				fmt.Fprintln(stderr, "updating the database's statistics for searches")
			}
			if aerr := a.Analyze(ctx); aerr != nil {
				fmt.Fprintln(stderr, "warning: the statistics were not updated (searches may be slow until autovacuum runs):", aerr)
			}
		}
		return importDone(sum, err, stdout, stderr)
	}
	sum, err := im.Run(ctx, fs.Args())
	return importDone(sum, err, stdout, stderr)
}

// importEvent is the audit event of an import run on the server.
func importEvent(t *operatorTrail, paths []string, sum *fhirimport.Summary, err error) *audit.Event {
	e := t.event(audit.Import, "import")
	e.OutcomeDesc = "kartehub import " + strings.Join(paths, " ")
	switch {
	case err != nil:
		e.Outcome = audit.SeriousFailure
		e.OutcomeDesc += ": stopped: " + err.Error()
		if sum != nil {
			e.OutcomeDesc += "; " + sum.String()
		}
	case len(sum.Failures) > 0:
		e.Outcome = audit.MinorFailure
		e.OutcomeDesc += ": " + sum.String()
	default:
		e.OutcomeDesc += ": " + sum.String()
	}
	return e
}

// importDone reports an import's summary and failures.
func importDone(sum *fhirimport.Summary, err error, stdout, stderr io.Writer) error {
	if err != nil {
		return err
	}
	for _, f := range sum.Failures {
		fmt.Fprintln(stderr, "failed:", f)
	}
	fmt.Fprintln(stdout, sum)
	if len(sum.Failures) > 0 {
		return fmt.Errorf("%d entries failed to import", len(sum.Failures))
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// lessGC lets the heap grow further between collections: an import
// allocates trees by the hundred thousand, nearly all short-lived, and the
// machine it runs on has memory to spare for the duration of a command.
func lessGC() { debug.SetGCPercent(400) }
