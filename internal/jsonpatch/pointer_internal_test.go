package jsonpatch

import (
	"slices"
	"testing"
)

func TestParsePointer(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"/", []string{""}, false},
		{"//", []string{"", ""}, false},
		{"/foo/0", []string{"foo", "0"}, false},
		{"/a~1b", []string{"a/b"}, false},
		{"/m~0n", []string{"m~n"}, false},
		{"/~01", []string{"~1"}, false},
		{"/~10", []string{"/0"}, false},
		{"/ /c%d/e^f/g|h/i\\j/k\"l", []string{" ", "c%d", "e^f", "g|h", "i\\j", "k\"l"}, false},
		{"/日本", []string{"日本"}, false},
		{"foo", nil, true},
		{"#/foo", nil, true},
		{"/a~", nil, true},
		{"/a~2", nil, true},
		{"/~/", nil, true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePointer(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parsePointer(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parsePointer(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestArrayIndex(t *testing.T) {
	for _, tt := range []struct {
		tok    string
		n      int
		forAdd bool
		want   int // -1 for an error
	}{
		{"0", 3, false, 0},
		{"2", 3, false, 2},
		{"3", 3, false, -1},
		{"3", 3, true, 3},
		{"4", 3, true, -1},
		{"-", 3, true, 3},
		{"-", 3, false, -1},
		{"0", 0, false, -1},
		{"0", 0, true, 0},
		{"01", 3, false, -1},
		{"00", 3, true, -1},
		{"", 3, false, -1},
		{"+1", 3, false, -1},
		{"-1", 3, false, -1},
		{" 1", 3, false, -1},
		{"1e0", 3, false, -1},
		{"99999999999999999999999", 3, true, -1},
	} {
		got, err := arrayIndex(tt.tok, tt.n, tt.forAdd)
		if err != nil {
			got = -1
		}
		if got != tt.want {
			t.Errorf("arrayIndex(%q, %d, %v) = %d, %v; want %d", tt.tok, tt.n, tt.forAdd, got, err, tt.want)
		}
	}
}
