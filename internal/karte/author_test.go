package karte_test

import (
	"context"
	"testing"

	"kartehub/internal/karte"
)

// TestAuthorFrom: a request's Principal is its author, even where the
// context also names a process author (a server started by a command);
// without a Principal the process author counts; with neither, nobody.
func TestAuthorFrom(t *testing.T) {
	user := &karte.Principal{Kind: karte.PrincipalUser, ID: "u1", Login: "sato", Name: "佐藤 花子", Person: "Practitioner/p1", App: "bedside"}
	client := &karte.Principal{Kind: karte.PrincipalClient, ID: "c1", Login: "lab-gw", Name: "lab", App: "ignored"}
	process := karte.Author{Kind: karte.AuthorProcess, ID: "kartehub import", Name: "root"}
	base := karte.WithAuthor(context.Background(), process)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want karte.Author
	}{
		{"nobody", context.Background(), karte.Author{}},
		{"process", base, process},
		{"user", karte.WithPrincipal(base, user), karte.Author{Kind: karte.AuthorUser, ID: "sato", Person: "Practitioner/p1", Name: "佐藤 花子", App: "bedside"}},
		{"client", karte.WithPrincipal(base, client), karte.Author{Kind: karte.AuthorClient, ID: "lab-gw", Name: "lab"}},
		{"principal without login", karte.WithPrincipal(context.Background(), &karte.Principal{Kind: karte.PrincipalClient, ID: "c2"}),
			karte.Author{Kind: karte.AuthorClient, ID: "c2"}},
	} {
		if got := karte.AuthorFrom(tc.ctx); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
