package botframework

import (
	"errors"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
)

// notSentError is a transport failure that happened before the request
// was written whole: the server cannot have processed it.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }

func (e *notSentError) Unwrap() error { return e.err }

// unsent reports whether err says the request was never written whole.
func unsent(err error) bool {
	var ns *notSentError
	return errors.As(err, &ns)
}

// refused reports whether an answer with this status means the request
// was not acted on: everything but 500, 504 and the other server errors
// (502 and 503 come from gateways that did not pass the request on).
func refused(status int) bool {
	switch {
	case status == http.StatusBadGateway, status == http.StatusServiceUnavailable:
		return true
	case status >= 500:
		return false
	}
	return true
}

// traceWrite returns req with a trace that records whether the request
// was written whole, and the flag it sets.
func traceWrite(req *http.Request) (*http.Request, *atomic.Bool) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	return req.WithContext(httptrace.WithClientTrace(req.Context(), trace)), &wrote
}
