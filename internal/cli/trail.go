package cli

import (
	"context"
	"errors"
	"os"
	"os/user"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// operatorSystem is the identifier system of the people who run kartehub
// commands on the server, in audit events: the value is their
// operating-system login.
const operatorSystem = "urn:kartehub:os-user"

// osUser returns the login of the operating-system user running this
// process, or "unknown".
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// operatorTrail records the commands run on the server that change the
// record, the accounts or the facilities, or copy the trail, in the audit
// trail of the store they act on: which command, run by which
// operating-system user, and how it ended. The server audits what comes
// through its API; these act on the database directly.
type operatorTrail struct {
	w *audit.Writer
}

// openOperatorTrail opens the audit trail of st, signed with the key of
// the data directory dir, as the server does (audit.OpenChainFor).
func openOperatorTrail(ctx context.Context, st karte.Store, dir string) (*operatorTrail, error) {
	log, ok := st.(karte.AuditLog)
	if !ok {
		return nil, errors.New("the store keeps no audit trail")
	}
	chain, err := audit.OpenChainFor(ctx, dir, log, audit.DefaultEvery)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &operatorTrail{w: audit.NewWriter(log, chain, audit.WriterOptions{Source: audit.Source{Observer: host}})}, nil
}

// event returns an Event of typ for command, naming the operator.
func (t *operatorTrail) event(typ audit.Type, command string) *audit.Event {
	who := osUser()
	return &audit.Event{
		Type:   typ,
		User:   &audit.User{System: operatorSystem, ID: who, Name: who},
		Client: &audit.Client{ID: "kartehub " + command},
	}
}

// record appends e and returns once it is durable.
func (t *operatorTrail) record(ctx context.Context, e *audit.Event) error {
	if err := t.w.Record(context.WithoutCancel(ctx), e); err != nil {
		return errors.Join(errors.New("the audit trail could not record it"), err)
	}
	return nil
}

func (t *operatorTrail) close() { t.w.Close() }
