package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/auditapi"
	"kartehub/internal/karte"
)

const auditUsage = `Usage:
  kartehub audit verify [--data DIR | --database URL] [--key FILE] [--checkpoint-every N]
  kartehub audit export [--data DIR | --database URL] [--since T] [--until T]
                        [--patient REF]... [--agent WHO]... [--query Q] [--out FILE]

verify walks the whole audit trail, recomputes every hash and checks every
checkpoint signature with the public key (DIR/` + audit.PublicKeyFile + ` unless --key
names another), and checks the search index against the events. It prints
one line and exits 0 if the trail is intact, or names the first broken
record and exits non-zero.

export writes the AuditEvents of the trail as NDJSON, one per line, oldest
first, each with its id (the record's number) and meta, as the FHIR API
serves them: all of them, or those the flags select, as the trail stood when
the export began. --out writes a temporary file beside FILE and renames it
when complete, so an interrupted export leaves no partial file and running
it again is safe; without --out, export writes to standard output.
`

// runAudit runs "kartehub audit SUBCOMMAND".
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return runAuditVerify(ctx, args[1:], stdout, stderr)
		case "export":
			return runAuditExport(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, auditUsage)
	if len(args) == 0 {
		return errors.New("audit: no subcommand given")
	}
	return fmt.Errorf("audit: unknown subcommand %q", args[0])
}

func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit verify", stderr)
	var sf storeFlags
	sf.register(fs)
	keyPath := fs.String("key", "", "public key file (default: "+audit.PublicKeyFile+" in --data)")
	every := fs.Int("checkpoint-every", audit.DefaultEvery, "records per checkpoint that the server was run with")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit verify takes no arguments, got %q", fs.Args())
	}
	if *every <= 0 {
		return fmt.Errorf("--checkpoint-every %d: must be at least 1", *every)
	}
	if *keyPath == "" {
		*keyPath = filepath.Join(sf.data, audit.PublicKeyFile)
	}
	pub, err := audit.ReadPublicKey(*keyPath)
	if err != nil {
		return fmt.Errorf("audit verify: public key: %w (the server writes it on its first audit event; --key names another file)", err)
	}
	if sf.database == "" {
		// Verifying must not create an empty database where none was.
		if _, err := os.Stat(filepath.Join(sf.data, "kartehub.db")); err != nil {
			return fmt.Errorf("audit verify: no kartehub database in --data %s: %w", sf.data, err)
		}
	}
	st, where, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	log, ok := st.(karte.AuditLog)
	if !ok {
		return fmt.Errorf("audit verify: the store %s keeps no audit trail", where)
	}
	rep, err := (&audit.Verifier{Key: pub, Every: *every}).Verify(ctx, log)
	if be := (*audit.BrokenError)(nil); errors.As(err, &be) {
		fmt.Fprintf(stdout, "audit trail BROKEN at record %d: %s\n", be.Seq, be.Reason)
		return fmt.Errorf("audit verify: the audit trail in %s is broken (%s)", where, be.Problem)
	}
	if err != nil {
		return err
	}
	at := "-"
	if rep.Records > 0 {
		at = rep.LastTime.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "audit trail intact: %d records, %d checkpoints, last seq %d at %s\n",
		rep.Records, rep.Checkpoints, rep.LastSeq, at)
	if n := rep.LastSeq - rep.LastCheckpoint; n > 0 {
		fmt.Fprintf(stdout, "note: the last %d records come after the last checkpoint (record %d): the hash chain holds them, no signature yet\n",
			n, rep.LastCheckpoint)
	}
	if rep.Unindexed > 0 {
		fmt.Fprintf(stdout, "note: records 1 to %d have no search index (written before kartehub indexed the trail): audit searches do not find them, export does\n",
			rep.Unindexed)
	}
	return nil
}

// exportPage is how many records export reads at a time.
const exportPage = 1000

func runAuditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit export", stderr)
	var sf storeFlags
	sf.register(fs)
	since := fs.String("since", "", "export events recorded at or after this time: a FHIR date or dateTime (2026-11-01, 2026-11-01T09:00:00+09:00); without a zone, local time")
	until := fs.String("until", "", "export events recorded before this time (same forms as --since)")
	var patients, agents listFlag
	fs.Var(&patients, "patient", "export events about this patient (Patient/123, or 123); repeat for any of several")
	fs.Var(&agents, "agent", "export events of this user or client (login, Practitioner/123, client_id); repeat for any of several")
	query := fs.String("query", "", "further AuditEvent search parameters, as in the API (action=R&outcome=4)")
	out := fs.String("out", "", "file to write (default: standard output)")
	progress := fs.Int("progress", 10000, "report progress on standard error every N records (0: never)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit export takes no arguments, got %q", fs.Args())
	}
	values, err := url.ParseQuery(*query)
	if err != nil {
		return fmt.Errorf("--query %q: %w", *query, err)
	}
	for k := range values {
		if strings.HasPrefix(k, "_") && k != "_id" {
			return fmt.Errorf("--query: %s is not for export, which writes every matching event, oldest first", k)
		}
	}
	if *since != "" {
		values.Add("date", "ge"+*since)
	}
	if *until != "" {
		values.Add("date", "lt"+*until)
	}
	if len(patients) > 0 {
		values.Add("patient", patients.join())
	}
	if len(agents) > 0 {
		values.Add("agent", agents.join())
	}
	search, err := auditapi.Parse(values, time.Local)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if sf.database == "" {
		// Exporting must not create an empty database where none was.
		if _, err := os.Stat(filepath.Join(sf.data, "kartehub.db")); err != nil {
			return fmt.Errorf("audit export: no kartehub database in --data %s: %w", sf.data, err)
		}
	}
	st, where, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	log, ok := st.(karte.AuditSearcher)
	al, ok2 := st.(karte.AuditLog)
	if !ok || !ok2 {
		return fmt.Errorf("audit export: the store %s cannot search its audit trail", where)
	}

	// Copies of the trail name patients and people: each is recorded in
	// the trail itself, and none is made that could not be.
	trail, err := openOperatorTrail(ctx, st, sf.data)
	if err != nil {
		return fmt.Errorf("audit export: the audit trail cannot record the export: %w", err)
	}
	defer trail.close()

	var w io.Writer = stdout
	var file *atomicFile
	if *out != "" {
		if file, err = createAtomic(*out); err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		defer file.abort()
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	ex := exporter{log: log, w: bw, stderr: stderr, every: int64(*progress)}
	if err := ex.run(ctx, al, search.Query); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	dest := "standard output"
	if file != nil {
		if err := file.commit(); err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		dest = *out
	}
	done := fmt.Sprintf("exported no audit events to %s (the trail has %d records)", dest, ex.last)
	if ex.n > 0 {
		done = fmt.Sprintf("exported %d audit events to %s: records %d to %d of %d", ex.n, dest, ex.first, ex.lastSeen, ex.last)
	}
	e := trail.event(audit.Export, "audit export")
	e.Query, e.OutcomeDesc = values.Encode(), done
	if err := trail.record(ctx, e); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	fmt.Fprintln(stderr, done)
	return nil
}

// exporter writes the records of a query as NDJSON.
type exporter struct {
	log    karte.AuditSearcher
	w      io.Writer
	stderr io.Writer
	every  int64

	n                     int64 // records written
	first, lastSeen, last int64 // seqs: first and last written, last in the log
}

// run writes every record that q selects, oldest first, up to the last
// record of the log when it starts: records appended meanwhile belong to
// the next export.
func (ex *exporter) run(ctx context.Context, al karte.AuditLog, q karte.AuditQuery) error {
	last, err := al.LastAudit(ctx)
	if err != nil || last == nil {
		return err
	}
	ex.last = last.Seq
	if q.Before == 0 || q.Before > last.Seq+1 {
		q.Before = last.Seq + 1
	}
	q.Descending, q.Limit = false, exportPage
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		recs, err := ex.log.SearchAudit(ctx, q)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			line, err := auditapi.Resource(rec)
			if err != nil {
				return err
			}
			if _, err := ex.w.Write(append(line, '\n')); err != nil {
				return err
			}
			if ex.n++; ex.n == 1 {
				ex.first = rec.Seq
			}
			ex.lastSeen = rec.Seq
			if ex.every > 0 && ex.n%ex.every == 0 {
				fmt.Fprintf(ex.stderr, "exported %d audit events, up to record %d of %d\n", ex.n, rec.Seq, ex.last)
			}
		}
		if len(recs) < q.Limit {
			return nil
		}
		q.After = recs[len(recs)-1].Seq
	}
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*l = append(*l, v)
	return nil
}

// join makes the values one search parameter value: any of them.
func (l listFlag) join() string {
	esc := strings.NewReplacer(`\`, `\\`, `,`, `\,`)
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = esc.Replace(v)
	}
	return strings.Join(parts, ",")
}

// atomicFile is a file written under a temporary name beside its
// destination and renamed to it once complete, so that readers never see
// a partial file and an interrupted run leaves the old one in place.
type atomicFile struct {
	*os.File
	dest string
	done bool
}

// createAtomic creates the temporary file for dest, readable by the
// owner alone: audit events name patients.
func createAtomic(dest string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &atomicFile{File: f, dest: dest}, nil
}

// commit makes the file durable and gives it its name.
func (f *atomicFile) commit() error {
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), f.dest); err != nil {
		return err
	}
	f.done = true
	if dir, err := os.Open(filepath.Dir(f.dest)); err == nil {
		dir.Sync() // the rename, durable too
		dir.Close()
	}
	return nil
}

// abort removes the temporary file unless commit renamed it.
func (f *atomicFile) abort() {
	if !f.done {
		f.Close()
		os.Remove(f.Name())
	}
}
