package cors_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"kartehub/internal/cors"
)

func TestOrigins(t *testing.T) {
	got := cors.Origins([]string{"https://Viewer.example.jp/cb", "https://viewer.example.jp/other", "http://127.0.0.1:9000/cb",
		"jp.example.app:/cb", "%zz", "https:///nohost"})
	want := []string{"https://viewer.example.jp", "http://127.0.0.1:9000"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestWrap: an allowed origin's preflight is answered without the API,
// its requests' responses are readable; other origins and requests
// without one reach the API untouched.
func TestWrap(t *testing.T) {
	reached := 0
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.Header().Set("Vary", "Accept")
		w.WriteHeader(http.StatusUnauthorized)
	})
	h := cors.New([]string{"https://viewer.example.jp"}).Wrap(api)
	serve := func(method, origin string, preflight bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/fhir/Patient", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if preflight {
			r.Header.Set("Access-Control-Request-Method", "GET")
			r.Header.Set("Access-Control-Request-Headers", "authorization")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := serve("OPTIONS", "https://viewer.example.jp", true)
	if w.Code != http.StatusNoContent || reached != 0 || w.Header().Get("Access-Control-Allow-Origin") != "https://viewer.example.jp" ||
		w.Header().Get("Access-Control-Allow-Headers") == "" || w.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight of an allowed origin: %d, reached %d, %v", w.Code, reached, w.Header())
	}
	w = serve("GET", "https://viewer.example.jp", false)
	if w.Code != http.StatusUnauthorized || reached != 1 || w.Header().Get("Access-Control-Allow-Origin") != "https://viewer.example.jp" ||
		w.Header().Get("Access-Control-Expose-Headers") == "" || !slices.Contains(w.Header().Values("Vary"), "Origin") {
		t.Errorf("request of an allowed origin: %d, %v", w.Code, w.Header())
	}
	for _, origin := range []string{"https://evil.example", ""} {
		for _, preflight := range []bool{true, false} {
			before := reached
			w = serve("OPTIONS", origin, preflight)
			if reached != before+1 || w.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("origin %q, preflight %v: reached the API %d times, headers %v", origin, preflight, reached-before, w.Header())
			}
		}
	}
}
