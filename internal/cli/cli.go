package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kartehub/internal/karte"
	"kartehub/internal/record"
	"kartehub/internal/search"
	"kartehub/internal/searchparam"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/sqlite"
)

const usage = `kartehub: a clinical data hub (FHIR R4) in one binary

Usage:
  kartehub serve  [--demo] [--data DIR | --database URL] [--http ADDR]
                  [--tls-cert FILE --tls-key FILE | --tls-self-signed] [--tls-client-ca FILE]
                  [--tls-min 1.2|1.3] [--insecure-http] [--base-url URL] [--apps FILE]
  kartehub import [--data DIR | --database URL | --url FHIR_BASE] PATH...
  kartehub bench  [--synthea DIR] [--duration D]
  kartehub bench search [--patients N] [--data DIR] [--runs N]
  kartehub synth  --patients N --out DIR [--seed S] [--facilities 40]
  kartehub audit verify [--data DIR | --database URL] [--key FILE]
  kartehub audit export [--data DIR | --database URL] [--since T] [--until T] [--patient REF] [--out FILE]
  kartehub admin  user|client|facility SUBCOMMAND ... [--data DIR | --database URL]
  kartehub version

Run "kartehub COMMAND -h" for the flags of a command. Every flag can also be
set in the environment as KARTEHUB_<FLAG>, e.g. KARTEHUB_DATA.
`

// Run runs the kartehub command line with args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "import":
		return runImport(commandAuthor(ctx, "import"), rest, stdout, stderr)
	case "bench":
		return runBench(commandAuthor(ctx, "bench"), rest, stdout, stderr)
	case "synth":
		return runSynth(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "admin":
		return runAdmin(commandAuthor(ctx, "admin"), rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "kartehub", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kartehub "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, first taking defaults from KARTEHUB_* variables, so
// that flags given on the command line win over the environment.
func parse(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "KARTEHUB_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && err == nil {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, serr)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// storeFlags are the flags that choose the storage engine.
type storeFlags struct {
	data     string
	database string
}

func (sf *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.data, "data", "./kartehub-data", "data directory (embedded database and files)")
	fs.StringVar(&sf.database, "database", "", "PostgreSQL URL (postgres://...); default: embedded SQLite in --data")
}

// open opens the configured store, creating the data directory if needed.
func (sf *storeFlags) open(ctx context.Context) (karte.Store, string, error) {
	if sf.database != "" {
		if !strings.HasPrefix(sf.database, "postgres://") && !strings.HasPrefix(sf.database, "postgresql://") {
			return nil, "", fmt.Errorf("--database %q: only postgres:// URLs are supported", redact(sf.database))
		}
		st, err := postgres.Open(ctx, sf.database)
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL %s: %w", redact(sf.database), err)
		}
		return st, "postgres " + redact(sf.database), nil
	}
	if err := os.MkdirAll(sf.data, 0o700); err != nil {
		return nil, "", fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(sf.data, "kartehub.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", path, err)
	}
	return st, "sqlite " + path, nil
}

// redact hides the password of a database URL, which must never reach logs.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	user := dsn[scheme+3 : at]
	if name, _, hasPass := strings.Cut(user, ":"); hasPass {
		return dsn[:scheme+3] + name + ":xxxxx" + dsn[at:]
	}
	return dsn
}

var version = "0.1.0-dev"

// commandAuthor returns a copy of ctx whose writes are made by the
// kartehub command name, as the operating-system user who runs it: the
// author that the versions it writes keep.
func commandAuthor(ctx context.Context, name string) context.Context {
	return karte.WithAuthor(ctx, karte.Author{Kind: karte.AuthorProcess, ID: "kartehub " + name, Name: osUser()})
}

// newRecord returns the record service on st, indexing every write for
// search with the R4 search parameters.
func newRecord(st karte.Store) *record.Service {
	return record.New(st, record.WithSearch(search.New(searchparam.New())))
}
