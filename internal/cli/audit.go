package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

const auditUsage = `Usage:
  kartehub audit verify [--data DIR | --database URL] [--key FILE] [--checkpoint-every N]

verify walks the whole audit trail, recomputes every hash and checks every
checkpoint signature with the public key (DIR/` + audit.PublicKeyFile + ` unless --key
names another). It prints one line and exits 0 if the trail is intact, or
names the first broken record and exits non-zero.
`

// runAudit runs "kartehub audit SUBCOMMAND".
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return errors.New("audit: no subcommand given")
		}
		return fmt.Errorf("audit: unknown subcommand %q", args[0])
	}
	return runAuditVerify(ctx, args[1:], stdout, stderr)
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
	return nil
}
