package oauth_test

import (
	"reflect"
	"strings"
	"testing"

	"kartehub/internal/oauth"
)

// TestReadApps reads an apps file of two apps, the second with only what
// is required.
func TestReadApps(t *testing.T) {
	got, err := oauth.ReadApps(strings.NewReader(`[
		{"client_id": "jp.example.viewer", "client_name": "画像ビューア",
		 "redirect_uris": ["https://viewer.example.jp/callback", "jp.example.viewer:/cb"],
		 "post_logout_redirect_uris": ["https://viewer.example.jp/"],
		 "scope": "openid fhirUser launch patient/*.rs", "token_endpoint_auth_method": "none"},
		{"client_id": "bedside", "redirect_uris": ["http://127.0.0.1:9000/cb"]},
		{"client_id": "ward", "redirect_uris": ["https://ward.example.jp/cb"],
		 "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []oauth.App{
		{ClientID: "jp.example.viewer", Name: "画像ビューア",
			RedirectURIs:           []string{"https://viewer.example.jp/callback", "jp.example.viewer:/cb"},
			PostLogoutRedirectURIs: []string{"https://viewer.example.jp/"},
			Scope:                  "openid fhirUser launch patient/*.rs"},
		{ClientID: "bedside", RedirectURIs: []string{"http://127.0.0.1:9000/cb"}},
		{ClientID: "ward", RedirectURIs: []string{"https://ward.example.jp/cb"},
			JWKS: []byte(`{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got, err := oauth.ReadApps(strings.NewReader("[]\n")); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v", got, err)
	}
}

// FuzzReadApps: any input gives apps or an error, never a panic, and an
// app is only read from an array of objects.
func FuzzReadApps(f *testing.F) {
	f.Add(`[{"client_id": "a", "redirect_uris": ["https://a.example/cb"], "scope": "openid"}]`)
	f.Add(`[{"client_id": "a", "token_endpoint_auth_method": "private_key_jwt"}]`)
	f.Add(`[{"client_id": "w", "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}}]`)
	f.Add(`[] x`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, in string) {
		apps, err := oauth.ReadApps(strings.NewReader(in))
		if err == nil && len(apps) > 0 && !strings.Contains(in, "{") {
			t.Errorf("%q gave apps %+v", in, apps)
		}
	})
}
