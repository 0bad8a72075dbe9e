package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"kartehub/internal/account"
	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/record"
)

// The facilities of the network are FHIR Organizations in the record, as
// JP Core describes a medical institution: the 10-digit medical
// institution code (医療機関コード: prefecture, score table, institution
// number) as an identifier of JP Core's system, and the type "prov"
// (healthcare provider). Accounts and clients name them by id.
const (
	institutionCodeSystem = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no"
	orgTypeSystem         = "http://terminology.hl7.org/CodeSystem/organization-type"
)

// facilityAdd creates Organization/ID or updates it: the flags given
// replace what they name, and the rest of a stored Organization (address,
// telecom, other identifiers) is kept.
func facilityAdd(ctx context.Context, a *adminCmd, args []string) error {
	name := a.fs.String("name", "", "the facility's name (required for a new facility)")
	code := a.fs.String("code", "", `10-digit medical institution code (医療機関コード); "" removes it`)
	partOf := a.fs.String("part-of", "", `the Organization this facility is part of; "" removes it`)
	pos, err := a.args(args, "ID")
	if err != nil {
		return err
	}
	given := a.given()
	id, err := account.FacilityID(pos[0])
	if err != nil {
		return err
	}
	if given["name"] && strings.TrimSpace(*name) == "" {
		return errors.New("--name: the name must not be empty")
	}
	if err := checkInstitutionCode(*code); err != nil {
		return fmt.Errorf("--code: %w", err)
	}
	parent := ""
	if *partOf != "" {
		if parent, err = account.FacilityID(*partOf); err != nil {
			return fmt.Errorf("--part-of: %w", err)
		}
		if parent == id {
			return fmt.Errorf("--part-of: Organization/%s cannot be part of itself", id)
		}
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	rec := newRecord(st)

	var out *record.Outcome
	for attempt := 1; out == nil; attempt++ {
		cur, err := rec.Read(ctx, "Organization", id)
		var org *fhir.Object
		var version int64
		switch {
		case karte.IsKind(err, karte.NotFound) || karte.IsKind(err, karte.Gone):
			if !given["name"] {
				return fmt.Errorf("Organization/%s does not exist: --name is required to create it", id)
			}
			org = &fhir.Object{Members: []fhir.Member{{Key: "resourceType", Value: "Organization"}, {Key: "id", Value: id}}}
			org.Set("active", true)
		case err != nil:
			return err
		default:
			if org, err = fhir.ParseObject(cur.Body); err != nil {
				return fmt.Errorf("Organization/%s as stored: %w", id, err)
			}
			version = cur.VersionID
		}
		setFacility(org, given, strings.TrimSpace(*name), *code, parent)
		// If-Match the version read, so that a change made meanwhile (over
		// the API, say) is merged into rather than overwritten.
		out, err = rec.Update(ctx, "Organization", id, fhir.Marshal(org), version)
		if karte.IsKind(err, karte.PreconditionFailed) && version != 0 && attempt < 8 {
			continue
		}
		if err != nil {
			return fmt.Errorf("write Organization/%s: %w", id, err)
		}
	}
	f, err := listedFacility(id, out.Resource.Body)
	if err != nil {
		return err
	}
	switch {
	case out.Created:
		fmt.Fprintf(a.stdout, "created facility Organization/%s", id)
	case out.Unchanged:
		fmt.Fprintf(a.stdout, "facility Organization/%s unchanged", id)
	default:
		fmt.Fprintf(a.stdout, "updated facility Organization/%s (version %d)", id, out.Resource.VersionID)
	}
	fmt.Fprintf(a.stdout, ": %s, code %s, part of %s\n", f.name, adminDash(f.code), adminDash(f.partOf))
	if parent != "" {
		a.warnFacilities(ctx, []string{parent})
	}
	return nil
}

// setFacility sets in org what the given flags name: the name, the
// medical institution code (replacing any identifier of that system),
// partOf; and it makes sure org has the type prov.
func setFacility(org *fhir.Object, given map[string]bool, name, code, parent string) {
	if given["code"] {
		var ids []fhir.Value
		if v, ok := org.Get("identifier"); ok {
			old, _ := v.([]fhir.Value)
			for _, x := range old {
				if o, ok := x.(*fhir.Object); !ok || o.String("system") != institutionCodeSystem {
					ids = append(ids, x)
				}
			}
		}
		if code != "" {
			ids = append(ids, &fhir.Object{Members: []fhir.Member{
				{Key: "system", Value: institutionCodeSystem}, {Key: "value", Value: code},
			}})
		}
		if len(ids) == 0 {
			org.Delete("identifier")
		} else {
			after := "id"
			if _, ok := org.Get("meta"); ok {
				after = "meta"
			}
			org.SetAfter(after, "identifier", ids)
		}
	}
	if !hasProviderType(org) {
		v, _ := org.Get("type")
		types, _ := v.([]fhir.Value)
		types = append(types, &fhir.Object{Members: []fhir.Member{
			{Key: "coding", Value: []fhir.Value{&fhir.Object{Members: []fhir.Member{
				{Key: "system", Value: orgTypeSystem}, {Key: "code", Value: "prov"}, {Key: "display", Value: "Healthcare Provider"},
			}}}},
			{Key: "text", Value: "医療機関"},
		}})
		org.Set("type", types)
	}
	if given["name"] {
		org.Set("name", name)
	}
	if given["part-of"] {
		if parent == "" {
			org.Delete("partOf")
		} else {
			org.Set("partOf", &fhir.Object{Members: []fhir.Member{{Key: "reference", Value: "Organization/" + parent}}})
		}
	}
}

// hasProviderType reports whether org has the type prov.
func hasProviderType(org *fhir.Object) bool {
	v, _ := org.Get("type")
	types, _ := v.([]fhir.Value)
	for _, t := range types {
		cc, _ := t.(*fhir.Object)
		if cc == nil {
			continue
		}
		cv, _ := cc.Get("coding")
		codings, _ := cv.([]fhir.Value)
		for _, c := range codings {
			if c, ok := c.(*fhir.Object); ok && c.String("system") == orgTypeSystem && c.String("code") == "prov" {
				return true
			}
		}
	}
	return false
}

// checkInstitutionCode checks the shape of a medical institution code: 10
// digits, of which the first two are a prefecture (01 to 47). The check
// digit is not verified. "" is no code.
func checkInstitutionCode(code string) error {
	if code == "" {
		return nil
	}
	if len(code) != 10 || strings.Trim(code, "0123456789") != "" {
		return fmt.Errorf("%q: want the 10-digit medical institution code (医療機関コード), such as 0110000011", code)
	}
	if pref := code[:2]; pref < "01" || pref > "47" {
		return fmt.Errorf("%q: the first two digits are the prefecture, 01 to 47", code)
	}
	return nil
}

// facility is an Organization as facility list shows it.
type facility struct {
	id, name, code, partOf string
	active                 bool
}

func listedFacility(id string, body []byte) (facility, error) {
	f := facility{id: id, active: true}
	org, err := fhir.ParseObject(body)
	if err != nil {
		return f, fmt.Errorf("Organization/%s as stored: %w", id, err)
	}
	f.name = org.String("name")
	if v, ok := org.Get("active"); ok {
		f.active = v != false
	}
	v, _ := org.Get("identifier")
	ids, _ := v.([]fhir.Value)
	for _, x := range ids {
		if o, ok := x.(*fhir.Object); ok && o.String("system") == institutionCodeSystem {
			f.code = o.String("value")
			break
		}
	}
	if p := org.Object("partOf"); p != nil {
		f.partOf = strings.TrimPrefix(p.String("reference"), "Organization/")
	}
	return f, nil
}

func facilityList(ctx context.Context, a *adminCmd, args []string) error {
	if _, err := a.args(args); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	rec := newRecord(st)
	var list []facility
	params := url.Values{"_count": {"1000"}}
	for {
		found, err := rec.Search(ctx, []string{"Organization"}, params, true)
		if err != nil {
			return err
		}
		for _, r := range found.Result.Matches {
			f, err := listedFacility(r.ID, r.Body)
			if err != nil {
				return err
			}
			list = append(list, f)
		}
		if found.Result.Next == "" {
			break
		}
		params.Set("_cursor", found.Result.Next)
	}
	slices.SortFunc(list, func(x, y facility) int { return strings.Compare(x.id, y.id) })
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	// The name comes last: tabwriter counts a kanji as one column, and a
	// terminal shows it as two.
	fmt.Fprintln(tw, "ID\tCODE\tPART OF\tSTATUS\tNAME")
	for _, f := range list {
		status := "active"
		if !f.active {
			status = "inactive"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.id, adminDash(f.code), adminDash(f.partOf), status, adminDash(f.name))
	}
	return tw.Flush()
}

// warnFacilities warns about each of ids that is not an Organization of
// the record (yet): an account or client may name a facility before it is
// added, but no patient belongs to it until then.
func (a *adminCmd) warnFacilities(ctx context.Context, ids []string) {
	if a.st == nil {
		return
	}
	for _, id := range ids {
		_, err := a.st.Read(ctx, "Organization", id)
		switch {
		case err == nil:
		case karte.IsKind(err, karte.NotFound) || karte.IsKind(err, karte.Gone):
			fmt.Fprintf(a.stderr, "warning: Organization/%s does not exist (yet): add it with \"kartehub admin facility add %s --name NAME\"\n", id, id)
		default:
			fmt.Fprintf(a.stderr, "warning: could not check Organization/%s: %v\n", id, err)
		}
	}
}
