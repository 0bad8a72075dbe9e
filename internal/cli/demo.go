package cli

import (
	"context"
	"fmt"
	"io"

	"kartehub/internal/account"
	"kartehub/internal/karte"
)

// demoPassword is the password of every demo user. The demo binds to
// loopback only, on a data directory of its own, and prints it anyway.
const demoPassword = "kartehub-demo-2026"

// demoUsers are the demo accounts: one per role. The hub is org-000 and
// the clinics org-001 and org-002, as package synth names them.
var demoUsers = []account.NewUser{
	{Login: "physician", Name: "循環器 太郎 (physician, hub)", Roles: []string{karte.RolePhysician}, Facilities: []string{"org-000"}},
	{Login: "nurse", Name: "看護 花子 (nurse, clinic 1)", Roles: []string{karte.RoleNurse}, Facilities: []string{"org-001"}},
	{Login: "technologist", Name: "放射線 次郎 (technologist, hub)", Roles: []string{karte.RoleTechnologist}, Facilities: []string{"org-000"}},
	{Login: "clerk", Name: "医事 三郎 (clerk, clinic 2)", Roles: []string{karte.RoleClerk}, Facilities: []string{"org-002"}},
	{Login: "researcher", Name: "研究 四郎 (researcher, hub)", Roles: []string{karte.RoleResearcher}, Facilities: []string{"org-000"}},
	// An auditor sees the trail of their facilities' patients and staff:
	// the demo's sees all three.
	{Login: "auditor", Name: "監査 五郎 (auditor, all facilities)", Roles: []string{karte.RoleAuditor}, Facilities: []string{"org-000", "org-001", "org-002"}},
}

// loadDemo fills a new demo data directory: the facilities and synthetic
// patients of package synth, a user per role and an API client. It
// imports as the import command does, without authorisation: the loader
// is the operator's own command. It prints how to log in to out.
func loadDemo(ctx context.Context, st karte.Store, dir string, accounts *account.Service, patients int, out, progress io.Writer) error {
	if err := loadSynthetic(ctx, st, dir, patients, 2, out, progress); err != nil {
		return fmt.Errorf("demo patients: %w", err)
	}
	fmt.Fprintf(out, "Demo data: %d synthetic patients of the hub (Organization/org-000) and two clinics (org-001, org-002).\n\n", patients)
	fmt.Fprintf(out, "Demo users (password %q, no second factor in the demo):\n", demoPassword)
	for _, u := range demoUsers {
		if _, _, err := accounts.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("demo user %s: %w", u.Login, err)
		}
		if err := accounts.SetPassword(ctx, u.Login, demoPassword); err != nil {
			return fmt.Errorf("demo user %s: %w", u.Login, err)
		}
		fmt.Fprintf(out, "  %-13s %s\n", u.Login, u.Name)
	}
	c, secret, err := accounts.CreateClient(ctx, account.NewClient{Name: "demo lab system",
		Roles: []string{karte.RolePhysician}, Facilities: []string{"org-000"}})
	if err != nil {
		return fmt.Errorf("demo client: %w", err)
	}
	fmt.Fprintf(out, "\nDemo API client (physician rights at the hub):\n  client_id     %s\n  client_secret %s\n\n", c.ID, secret)
	return nil
}
