package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

const adminUsage = `Usage:
  kartehub admin user add LOGIN --name NAME --role ROLE[,ROLE] [--facility ORG[,ORG]]
                           [--person Practitioner/ID] [--expires DATE]
  kartehub admin user set LOGIN [--role ROLE[,ROLE]] [--facility ORG[,ORG]] [--name NAME]
                           [--person Practitioner/ID]
  kartehub admin user list
  kartehub admin user disable|enable|unlock LOGIN
  kartehub admin user reset-password LOGIN
  kartehub admin user reset-totp LOGIN
  kartehub admin user expire LOGIN --at DATE|never
  kartehub admin client add NAME --role ROLE[,ROLE] [--facility ORG[,ORG]] [--jwks FILE]
                           [--expires DATE]
  kartehub admin client set ID [--role ROLE[,ROLE]] [--facility ORG[,ORG]] [--name NAME]
  kartehub admin client list
  kartehub admin client disable|enable ID
  kartehub admin facility add ID --name NAME [--code CODE] [--part-of ORG]
  kartehub admin facility list

Every command also takes --data DIR | --database URL, anywhere after it.

Roles: physician, nurse, technologist, clerk, researcher, auditor, administrator.
Facilities are the ids of Organizations in the record ("facility list");
a person sees the patients of their facilities only, and a person with none
sees no patient; a client with none sees every facility. DATE is YYYY-MM-DD
(the start of that day, local time) or an RFC 3339 time.

"set" replaces what its flags name, and only that: --role and --facility
give the whole new list (--facility "" for none; --person "" removes it).
Only flags on the command line count for "set" and "facility add", not
KARTEHUB_* variables. Sessions and tokens already issued follow a change
within seconds.

"user add" and "user reset-password" print a one-time password, once: only
its hash is kept, and it must be changed at the first login. "client add"
prints the client id and, unless --jwks registers public keys (a JWK Set, a
JWK or PEM) for private_key_jwt, a client secret, once.

"facility add" creates or updates Organization/ID (type prov, healthcare
provider): CODE is the 10-digit medical institution code (医療機関コード),
kept as a JP Core identifier; --part-of names the parent Organization.
Naming a facility that does not exist yet only warns.

See docs/admin.md.
`

// runAdmin runs "kartehub admin user|client VERB ...".
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[1], "-") {
		fmt.Fprint(stderr, adminUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return errors.New("admin: want \"user\", \"client\" or \"facility\" and a subcommand, such as \"admin user list\"")
	}
	cmd := args[0] + " " + args[1]
	run, ok := adminCommands[cmd]
	if !ok {
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("admin: unknown command %q", cmd)
	}
	a := &adminCmd{name: "admin " + cmd, stdout: stdout, stderr: stderr, fs: newFlags("admin "+cmd, stderr),
		changes: !strings.HasSuffix(cmd, " list")}
	a.sf.register(a.fs)
	err := run(ctx, a, args[2:])
	if errors.Is(err, flag.ErrHelp) {
		err = nil
	}
	if rerr := a.finish(ctx, args[2:], err); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	return nil
}

// adminCmd is one admin command being run.
type adminCmd struct {
	name   string
	fs     *flag.FlagSet
	sf     storeFlags
	stdout io.Writer
	stderr io.Writer // warnings
	st     karte.Store
	// changes says that the command changes accounts, clients or
	// facilities: it runs only if the audit trail can record it, and
	// trail records it when it ends.
	changes bool
	trail   *operatorTrail
}

// open opens the store, and the audit trail if the command changes
// anything: a change that could not be recorded is not made.
func (a *adminCmd) open(ctx context.Context) (karte.Store, error) {
	st, _, err := a.sf.open(ctx)
	if err != nil {
		return nil, err
	}
	a.st = st
	if a.changes {
		if a.trail, err = openOperatorTrail(ctx, st, a.sf.data); err != nil {
			return nil, fmt.Errorf("the audit trail cannot record this change: %w", err)
		}
	}
	return st, nil
}

// finish records a command that changes anything in the audit trail, as
// it was typed (it carries no secret: passwords and client secrets are
// made by the commands, never given), with its outcome, and closes the
// store.
func (a *adminCmd) finish(ctx context.Context, args []string, runErr error) error {
	defer a.close()
	if a.trail == nil {
		return nil
	}
	e := a.trail.event(audit.SecurityChange, a.name)
	e.OutcomeDesc = "kartehub " + a.name
	if len(args) > 0 {
		e.OutcomeDesc += " " + strings.Join(args, " ")
	}
	if runErr != nil {
		e.Outcome = audit.MinorFailure
		e.OutcomeDesc += ": failed: " + runErr.Error()
	}
	return a.trail.record(ctx, e)
}

// args parses the command line, with flags before, between and after the
// positional arguments, and checks that there are want of those.
func (a *adminCmd) args(args []string, want ...string) ([]string, error) {
	if err := parse(a.fs, args); err != nil {
		return nil, err
	}
	var pos []string
	for a.fs.NArg() > 0 {
		pos = append(pos, a.fs.Arg(0))
		if err := a.fs.Parse(a.fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	if len(pos) != len(want) {
		if len(want) == 0 {
			return nil, fmt.Errorf("takes no arguments, got %q", pos)
		}
		return nil, fmt.Errorf("want %s, got %d arguments %q", strings.Join(want, " "), len(pos), pos)
	}
	return pos, nil
}

// given returns the names of the flags given on the command line. The
// "set" commands change only what these name; a KARTEHUB_* variable is no
// change.
func (a *adminCmd) given() map[string]bool {
	m := map[string]bool{}
	a.fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// service opens the store and returns the account service on it.
func (a *adminCmd) service(ctx context.Context) (*account.Service, error) {
	st, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	as, ok := st.(karte.AccountStore)
	if !ok {
		return nil, errors.New("the store keeps no accounts")
	}
	key, err := account.LoadKey(a.sf.data)
	if err != nil {
		return nil, err
	}
	return account.New(as, account.Config{Key: key})
}

// close closes the trail and the store, whatever of them is open.
func (a *adminCmd) close() {
	if a.trail != nil {
		a.trail.close()
		a.trail = nil
	}
	if a.st != nil {
		a.st.Close()
		a.st = nil
	}
}

// adminCommands are the admin commands by "NOUN VERB".
var adminCommands = map[string]func(context.Context, *adminCmd, []string) error{
	"user add":            userAdd,
	"user set":            userSet,
	"user list":           userList,
	"user disable":        userChange("disabled", (*account.Service).DisableUser),
	"user enable":         userChange("enabled", (*account.Service).EnableUser),
	"user unlock":         userChange("unlocked", (*account.Service).UnlockUser),
	"user reset-totp":     userChange("has no TOTP any more: it must enrol again at its next login", (*account.Service).RemoveTOTP),
	"user reset-password": userResetPassword,
	"user expire":         userExpire,
	"client add":          clientAdd,
	"client set":          clientSet,
	"client list":         clientList,
	"client disable":      clientChange("disabled", (*account.Service).DisableClient),
	"client enable":       clientChange("enabled", (*account.Service).EnableClient),
	"facility add":        facilityAdd,
	"facility list":       facilityList,
}

func userAdd(ctx context.Context, a *adminCmd, args []string) error {
	name := a.fs.String("name", "", "display name (required)")
	roles := a.fs.String("role", "", "roles, comma-separated (required)")
	facilities := a.fs.String("facility", "", "Organization ids, comma-separated")
	person := a.fs.String("person", "", "FHIR resource of the person, e.g. Practitioner/123")
	expires := a.fs.String("expires", "", "no login from DATE on")
	pos, err := a.args(args, "LOGIN")
	if err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	if *roles == "" {
		return fmt.Errorf("--role is required (%s)", strings.Join(karte.Roles, ", "))
	}
	at, err := adminDate(*expires)
	if err != nil {
		return fmt.Errorf("--expires: %w", err)
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	acc, pw, err := svc.CreateUser(ctx, account.NewUser{
		Login: pos[0], Name: *name, Person: *person,
		Roles: adminList(*roles), Facilities: adminList(*facilities), ExpiresAt: at,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "created account %s (%s), id %s, roles %s, facilities %s\n",
		acc.Login, acc.Name, acc.ID, strings.Join(acc.Roles, ","), adminDash(strings.Join(acc.Facilities, ",")))
	adminOneTime(a.stdout, acc.Login, pw)
	a.warnFacilities(ctx, acc.Facilities)
	return nil
}

func userSet(ctx context.Context, a *adminCmd, args []string) error {
	name := a.fs.String("name", "", "new display name")
	roles := a.fs.String("role", "", "new roles, comma-separated: they replace the current ones")
	facilities := a.fs.String("facility", "", `new Organization ids, comma-separated: they replace the current ones ("" for none)`)
	person := a.fs.String("person", "", `FHIR resource of the person, e.g. Practitioner/123 ("" removes it)`)
	pos, err := a.args(args, "LOGIN")
	if err != nil {
		return err
	}
	var u account.UserUpdate
	given := a.given()
	if given["name"] {
		u.Name = name
	}
	if given["person"] {
		u.Person = person
	}
	if given["role"] {
		u.Roles = new(adminList(*roles))
	}
	if given["facility"] {
		u.Facilities = new(adminList(*facilities))
	}
	if u == (account.UserUpdate{}) {
		return errors.New("nothing to change: give --role, --facility, --name or --person")
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	before, err := svc.User(ctx, pos[0])
	if err != nil {
		return err
	}
	after, err := svc.UpdateUser(ctx, before.Login, u)
	if err != nil {
		return err
	}
	changes := adminChanges(
		"name", before.Name, after.Name,
		"person", before.Person, after.Person,
		"roles", strings.Join(before.Roles, ","), strings.Join(after.Roles, ","),
		"facilities", strings.Join(before.Facilities, ","), strings.Join(after.Facilities, ","))
	if changes == "" {
		fmt.Fprintf(a.stdout, "account %s unchanged\n", after.Login)
		return nil
	}
	fmt.Fprintf(a.stdout, "updated account %s: %s\n", after.Login, changes)
	fmt.Fprintln(a.stdout, "(sessions already open follow the change within seconds)")
	if len(after.Facilities) == 0 && len(before.Facilities) > 0 {
		fmt.Fprintf(a.stdout, "%s has no facility now: no patient's record is open to it, except through break-glass\n", after.Login)
	}
	a.warnFacilities(ctx, after.Facilities)
	return nil
}

// adminChanges describes the changes among triples of what, before and
// after: "roles nurse -> physician,nurse; facilities - -> hub".
func adminChanges(triples ...string) string {
	var out []string
	for i := 0; i+2 < len(triples); i += 3 {
		if triples[i+1] != triples[i+2] {
			out = append(out, fmt.Sprintf("%s %s -> %s", triples[i], adminDash(triples[i+1]), adminDash(triples[i+2])))
		}
	}
	return strings.Join(out, "; ")
}

func adminOneTime(w io.Writer, login, pw string) {
	fmt.Fprintf(w, "one-time password of %s (shown only now; it must be changed at the first login): %s\n", login, pw)
}

func userResetPassword(ctx context.Context, a *adminCmd, args []string) error {
	pos, err := a.args(args, "LOGIN")
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	pw, err := svc.ResetPassword(ctx, pos[0])
	if err != nil {
		return err
	}
	adminOneTime(a.stdout, strings.ToLower(pos[0]), pw)
	return nil
}

func userExpire(ctx context.Context, a *adminCmd, args []string) error {
	atFlag := a.fs.String("at", "", "DATE from which the account cannot log in, or never (required)")
	pos, err := a.args(args, "LOGIN")
	if err != nil {
		return err
	}
	if *atFlag == "" {
		return errors.New("--at DATE is required (or --at never)")
	}
	at, err := adminDate(*atFlag)
	if err != nil {
		return fmt.Errorf("--at: %w", err)
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if err := svc.ExpireUser(ctx, pos[0], at); err != nil {
		return err
	}
	if at.IsZero() {
		fmt.Fprintf(a.stdout, "%s does not expire\n", strings.ToLower(pos[0]))
	} else {
		fmt.Fprintf(a.stdout, "%s cannot log in from %s\n", strings.ToLower(pos[0]), at.Local().Format(time.RFC3339))
	}
	return nil
}

// userChange is a command that changes one account and reports it.
func userChange(done string, fn func(*account.Service, context.Context, string) error) func(context.Context, *adminCmd, []string) error {
	return func(ctx context.Context, a *adminCmd, args []string) error {
		pos, err := a.args(args, "LOGIN")
		if err != nil {
			return err
		}
		svc, err := a.service(ctx)
		if err != nil {
			return err
		}
		if err := fn(svc, ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s %s\n", strings.ToLower(pos[0]), done)
		return nil
	}
}

func userList(ctx context.Context, a *adminCmd, args []string) error {
	if _, err := a.args(args); err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	users, err := svc.Users(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tNAME\tROLES\tFACILITIES\tSTATUS\tTOTP\tLAST LOGIN\tEXPIRES")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Login, u.Name, strings.Join(u.Roles, ","),
			adminDash(strings.Join(u.Facilities, ",")), adminUserStatus(u, now), adminTOTPState(u), adminTime(u.LastLogin), adminTime(u.ExpiresAt))
	}
	return tw.Flush()
}

func adminUserStatus(u *karte.Account, now time.Time) string {
	var s []string
	switch {
	case u.Disabled:
		s = append(s, "disabled")
	case !u.ExpiresAt.IsZero() && !now.Before(u.ExpiresAt):
		s = append(s, "expired")
	case now.Before(u.LockedUntil):
		s = append(s, "locked until "+u.LockedUntil.Local().Format("15:04:05"))
	default:
		s = append(s, "active")
	}
	if u.MustChangePassword {
		s = append(s, "must change password")
	}
	return strings.Join(s, ", ")
}

func adminTOTPState(u *karte.Account) string {
	switch {
	case u.TOTPEnabled:
		return "enrolled"
	case u.TOTPSecret != "":
		return "pending"
	}
	return "none"
}

func clientAdd(ctx context.Context, a *adminCmd, args []string) error {
	roles := a.fs.String("role", "", "roles, comma-separated (required)")
	facilities := a.fs.String("facility", "", "Organization ids, comma-separated")
	jwks := a.fs.String("jwks", "", "file of public keys (JWK Set, JWK or PEM) for private_key_jwt, instead of a secret")
	expires := a.fs.String("expires", "", "no authentication from DATE on")
	pos, err := a.args(args, "NAME")
	if err != nil {
		return err
	}
	if *roles == "" {
		return fmt.Errorf("--role is required (%s)", strings.Join(karte.Roles, ", "))
	}
	at, err := adminDate(*expires)
	if err != nil {
		return fmt.Errorf("--expires: %w", err)
	}
	var keys []byte
	if *jwks != "" {
		if keys, err = os.ReadFile(*jwks); err != nil {
			return fmt.Errorf("--jwks: %w", err)
		}
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	c, secret, err := svc.CreateClient(ctx, account.NewClient{
		Name: pos[0], Roles: adminList(*roles), Facilities: adminList(*facilities), PublicKeys: keys, ExpiresAt: at,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "registered client %q, roles %s, facilities %s\n", c.Name, strings.Join(c.Roles, ","),
		adminDash(strings.Join(c.Facilities, ",")))
	a.warnFacilities(ctx, c.Facilities)
	fmt.Fprintf(a.stdout, "client_id:     %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(a.stdout, "client_secret: %s\n(shown only now: kartehub keeps only its hash)\n", secret)
		return nil
	}
	parsed, err := account.ParseJWKS(c.JWKS)
	if err != nil {
		return err
	}
	var kids []string
	for _, k := range parsed {
		kids = append(kids, k.KID)
	}
	fmt.Fprintf(a.stdout, "authentication: private_key_jwt, keys %s\n", strings.Join(kids, ", "))
	return nil
}

func clientList(ctx context.Context, a *adminCmd, args []string) error {
	if _, err := a.args(args); err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	clients, err := svc.Clients(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tROLES\tFACILITIES\tAUTH\tSTATUS\tEXPIRES")
	for _, c := range clients {
		auth := "secret"
		if len(c.JWKS) > 0 {
			keys, err := account.ParseJWKS(c.JWKS)
			auth = fmt.Sprintf("private_key_jwt (%d keys)", len(keys))
			if err != nil {
				auth = "private_key_jwt (bad keys)"
			}
		}
		status := "active"
		switch {
		case c.Disabled:
			status = "disabled"
		case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
			status = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, strings.Join(c.Roles, ","),
			adminDash(strings.Join(c.Facilities, ",")), auth, status, adminTime(c.ExpiresAt))
	}
	return tw.Flush()
}

func clientSet(ctx context.Context, a *adminCmd, args []string) error {
	name := a.fs.String("name", "", "new name")
	roles := a.fs.String("role", "", "new roles, comma-separated: they replace the current ones")
	facilities := a.fs.String("facility", "", `new Organization ids, comma-separated: they replace the current ones ("" for none: every facility)`)
	pos, err := a.args(args, "ID")
	if err != nil {
		return err
	}
	var u account.ClientUpdate
	given := a.given()
	if given["name"] {
		u.Name = name
	}
	if given["role"] {
		u.Roles = new(adminList(*roles))
	}
	if given["facility"] {
		u.Facilities = new(adminList(*facilities))
	}
	if u == (account.ClientUpdate{}) {
		return errors.New("nothing to change: give --role, --facility or --name")
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	before, err := svc.Client(ctx, pos[0])
	if err != nil {
		return err
	}
	after, err := svc.UpdateClient(ctx, before.ID, u)
	if err != nil {
		return err
	}
	changes := adminChanges(
		"name", before.Name, after.Name,
		"roles", strings.Join(before.Roles, ","), strings.Join(after.Roles, ","),
		"facilities", strings.Join(before.Facilities, ","), strings.Join(after.Facilities, ","))
	if changes == "" {
		fmt.Fprintf(a.stdout, "client %s unchanged\n", after.ID)
		return nil
	}
	fmt.Fprintf(a.stdout, "updated client %s: %s\n", after.ID, changes)
	fmt.Fprintln(a.stdout, "(tokens already issued follow the change within seconds)")
	if len(after.Facilities) == 0 && len(before.Facilities) > 0 {
		fmt.Fprintf(a.stdout, "client %s has no facility now: its roles and scopes apply to the patients of every facility\n", after.ID)
	}
	a.warnFacilities(ctx, after.Facilities)
	return nil
}

// clientChange is a command that changes one client and reports it.
func clientChange(done string, fn func(*account.Service, context.Context, string) error) func(context.Context, *adminCmd, []string) error {
	return func(ctx context.Context, a *adminCmd, args []string) error {
		pos, err := a.args(args, "ID")
		if err != nil {
			return err
		}
		svc, err := a.service(ctx)
		if err != nil {
			return err
		}
		if err := fn(svc, ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "client %s %s\n", pos[0], done)
		return nil
	}
}

// adminDate reads YYYY-MM-DD (the start of the day, local time) or RFC
// 3339; "" and "never" are the zero time.
func adminDate(s string) (time.Time, error) {
	switch s {
	case "", "never":
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want YYYY-MM-DD or an RFC 3339 time such as 2026-03-31T17:00:00+09:00", s)
	}
	return t, nil
}

// adminList splits a comma-separated flag value.
func adminList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func adminTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func adminDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
