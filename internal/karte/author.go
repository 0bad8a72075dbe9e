package karte

import "context"

// The kinds of Author.
const (
	AuthorUser    = "user"    // a person with an account (Principal of kind PrincipalUser)
	AuthorClient  = "client"  // a registered system (Principal of kind PrincipalClient)
	AuthorProcess = "process" // a command run on the server itself, such as kartehub import
)

// Author is who made a resource version, as the version keeps it. It names
// the person or system when the version was written and does not follow
// later changes to the account, so that the record shows who entered what
// even after an account is renamed or removed.
type Author struct {
	Kind string // AuthorUser, AuthorClient or AuthorProcess; "" if unknown
	// ID is the user's login name (one per person), the client's
	// client_id, or the process's name.
	ID string
	// Person is the FHIR resource of the user (the SMART fhirUser), such
	// as "Practitioner/123"; empty if none.
	Person string
	// Name is the display name at the time of writing.
	Name string
	// App is the client_id of the application a user acted through; empty
	// for clients, processes and the web console.
	App string
}

// IsZero reports whether a names nobody.
func (a Author) IsZero() bool { return a == Author{} }

// AuthorOf returns the Author that principal p writes as.
func AuthorOf(p *Principal) Author {
	if p == nil {
		return Author{}
	}
	a := Author{ID: p.Login, Person: p.Person, Name: p.Name, App: p.App}
	switch p.Kind {
	case PrincipalUser:
		a.Kind = AuthorUser
	case PrincipalClient:
		a.Kind, a.App = AuthorClient, ""
	}
	if a.ID == "" {
		a.ID = p.ID
	}
	return a
}

type authorKey struct{}

// WithAuthor returns a copy of ctx whose writes are made by a, unless a
// Principal is in ctx too: writers with no Principal use it, such as a
// command run on the server or a feed that names its sending system.
func WithAuthor(ctx context.Context, a Author) context.Context {
	return context.WithValue(ctx, authorKey{}, a)
}

// AuthorFrom returns who the writes of ctx are made by: its Principal, or
// else the Author set by WithAuthor; zero if ctx carries neither. The
// Principal comes first because it is what the request proved.
func AuthorFrom(ctx context.Context) Author {
	if p := PrincipalFrom(ctx); p != nil {
		return AuthorOf(p)
	}
	a, _ := ctx.Value(authorKey{}).(Author)
	return a
}
