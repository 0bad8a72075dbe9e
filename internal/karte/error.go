package karte

import (
	"errors"
	"fmt"
)

// Kind classifies an Error. Each protocol edge maps a Kind to its own status
// (HTTP status and OperationOutcome issue code, HL7 ACK code, DIMSE status).
type Kind int

// The kinds of error. Internal is the zero value so that an unclassified
// error never looks like a client mistake.
const (
	Internal           Kind = iota
	Invalid                 // malformed request or content (400)
	Unprocessable           // well formed, but breaks a business or structural rule (422)
	NotFound                // no such resource, version or route (404)
	Gone                    // the resource exists but its current version is a deletion (410)
	Conflict                // a concurrent change or version clash (409)
	PreconditionFailed      // If-Match or a conditional criterion did not hold (412)
	NotSupported            // the request is understood but not implemented (501 or 405)
	MethodNotAllowed        // the interaction is not allowed on this target (405)
	Unauthorized            // no or bad credentials (401)
	Forbidden               // credentials do not permit this (403)
	Unavailable             // shutting down or overloaded (503)
)

var kindNames = [...]string{
	Internal: "internal", Invalid: "invalid", Unprocessable: "unprocessable",
	NotFound: "not-found", Gone: "gone", Conflict: "conflict",
	PreconditionFailed: "precondition-failed", NotSupported: "not-supported",
	MethodNotAllowed: "method-not-allowed", Unauthorized: "unauthorized",
	Forbidden: "forbidden", Unavailable: "unavailable",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Issue is one problem found in a request, located by a FHIRPath expression
// such as "Patient.name[0].given[1]".
type Issue struct {
	Severity    string // fatal, error, warning or information
	Code        string // OperationOutcome issue type: structure, required, value, invalid, ...
	Expression  string // FHIRPath location, empty when it applies to the whole request
	Diagnostics string
}

// Error is the error type of kartehub's domain: a Kind, a message for people,
// optional located issues, and the cause it wraps.
type Error struct {
	Kind    Kind
	Message string
	Issues  []Issue
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Message != "" && e.Err != nil:
		return e.Message + ": " + e.Err.Error()
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted message. A %w verb in
// format wraps its argument as the cause.
func Errorf(k Kind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Message: err.Error(), Err: errors.Unwrap(err)}
}

// KindOf returns the Kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
