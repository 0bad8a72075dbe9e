// Package cli is the kartehub command line: it parses flags and
// environment, opens the configured storage engine, and wires the
// listeners and commands together. It is the only package that knows every
// other one; nothing imports it but cmd/kartehub.
package cli
