package fhirapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
)

// statusOf maps error kinds to HTTP statuses.
var statusOf = map[karte.Kind]int{
	karte.Internal:           http.StatusInternalServerError,
	karte.Invalid:            http.StatusBadRequest,
	karte.Unprocessable:      http.StatusUnprocessableEntity,
	karte.NotFound:           http.StatusNotFound,
	karte.Gone:               http.StatusGone,
	karte.Conflict:           http.StatusConflict,
	karte.PreconditionFailed: http.StatusPreconditionFailed,
	karte.NotSupported:       http.StatusNotImplemented,
	karte.MethodNotAllowed:   http.StatusMethodNotAllowed,
	karte.Unauthorized:       http.StatusUnauthorized,
	karte.Forbidden:          http.StatusForbidden,
	karte.Unavailable:        http.StatusServiceUnavailable,
}

// issueCodeOf gives the OperationOutcome issue type of an error without
// issues of its own.
var issueCodeOf = map[karte.Kind]string{
	karte.Internal:           "exception",
	karte.Invalid:            "invalid",
	karte.Unprocessable:      "processing",
	karte.NotFound:           "not-found",
	karte.Gone:               "deleted",
	karte.Conflict:           "conflict",
	karte.PreconditionFailed: "conflict",
	karte.NotSupported:       "not-supported",
	karte.MethodNotAllowed:   "not-supported",
	karte.Unauthorized:       "login",
	karte.Forbidden:          "forbidden",
	karte.Unavailable:        "transient",
}

// errorStatus returns the HTTP status for err. A cancelled request is not
// the server's fault, and is not reported as one.
func errorStatus(err error) int {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return statusOf[karte.KindOf(err)]
}

// operationOutcome renders err as an OperationOutcome. Internal errors are
// logged in full and shown only as a generic message: their text may carry
// details of the database that clients have no business seeing.
func operationOutcome(log *slog.Logger, err error) *fhir.Object {
	kind := karte.KindOf(err)
	var issues []karte.Issue
	var ke *karte.Error
	if errors.As(err, &ke) {
		issues = ke.Issues
	}
	msg := err.Error()
	if kind == karte.Internal && errorStatus(err) == http.StatusInternalServerError {
		log.Error("internal error", "err", err)
		msg = "internal server error; the server log has the details"
		issues = nil
	}
	if len(issues) == 0 {
		issues = []karte.Issue{{Severity: "error", Code: issueCodeOf[kind], Diagnostics: msg}}
	}
	return outcomeOf(issues)
}

func outcomeOf(issues []karte.Issue) *fhir.Object {
	list := make([]fhir.Value, len(issues))
	for i, is := range issues {
		o := &fhir.Object{}
		o.Set("severity", orDefault(is.Severity, "error"))
		o.Set("code", orDefault(is.Code, "processing"))
		if is.Diagnostics != "" {
			o.Set("diagnostics", is.Diagnostics)
		}
		if is.Expression != "" {
			o.Set("expression", []fhir.Value{is.Expression})
		}
		list[i] = o
	}
	return &fhir.Object{Members: []fhir.Member{{Key: "resourceType", Value: "OperationOutcome"}, {Key: "issue", Value: list}}}
}

// information is an OperationOutcome that reports success.
func information(msg string) *fhir.Object {
	return outcomeOf([]karte.Issue{{Severity: "information", Code: "informational", Diagnostics: msg}})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
