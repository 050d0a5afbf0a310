package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MaxBatch is the most requests Graph takes in one JSON batch.
const MaxBatch = 20

// BatchRequest is one request of a JSON batch.
type BatchRequest struct {
	// ID names the request in the batch and in DependsOn; it must be unique
	// among the requests of one call. Empty means the request's 1-based
	// position.
	ID string
	// Method is the HTTP method; default GET.
	Method string
	// URL is relative to the version root, e.g.
	// "/users/{id}?$select=id,mail"; escape what goes in it.
	URL string
	// Headers are the request's headers; advanced queries put
	// ConsistencyLevel here. Content-Type application/json is added for a
	// Body when missing.
	Headers map[string]string
	// Body is sent as JSON when not nil.
	Body any
	// DependsOn lists requests that must succeed first; when one fails,
	// this one is answered 424 without running. Requests joined by
	// DependsOn always go in the same batch.
	DependsOn []string
}

// BatchResponse is the answer to one BatchRequest.
type BatchResponse struct {
	ID string
	// Status is the item's HTTP status; 0 when the item got no answer
	// (its batch failed as a whole, see Err).
	Status  int
	Headers map[string]string
	Body    json.RawMessage
	err     error
}

// Err returns nil for a 2xx item, else its *Error (with the Retry-After
// of the item's own headers; a 424 is KindDependencyFailed), or why the
// item got no answer.
func (r *BatchResponse) Err() error { return r.err }

// Decode decodes a 2xx item's JSON body into v.
func (r *BatchResponse) Decode(v any) error {
	if r.err != nil {
		return r.err
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("batch item %s: %w", r.ID, &responseError{err: err})
	}
	return nil
}

// wireRequest is a batch request as Graph reads it.
type wireRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      any               `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// wireResponse is a batch item's answer as Graph writes it.
type wireResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// Batch sends reqs as JSON batches of at most MaxBatch requests (requests
// joined by DependsOn stay together) and returns one response per request,
// in the order of reqs. Item failures are in each response's Err; the
// error is about the call itself: a request refused before sending, or a
// batch that failed as a whole (its items, and those of the batches not
// sent after it, carry the same error). Batch never retries: see
// BatchRetry.
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest) ([]BatchResponse, error) {
	wire, err := normalizeBatch(reqs)
	if err != nil {
		return nil, err
	}
	out := make([]BatchResponse, len(wire))
	for i := range wire {
		out[i].ID = wire[i].ID
	}
	return out, c.batch(ctx, wire, out)
}

// batch sends wire in chunks, writing each answer into out (same indices).
func (c *Client) batch(ctx context.Context, wire []wireRequest, out []BatchResponse) error {
	chunks, err := splitBatch(wire)
	if err != nil {
		return err
	}
	for n, chunk := range chunks {
		if err := c.sendChunk(ctx, wire, chunk, out); err != nil {
			for _, rest := range chunks[n:] {
				for _, i := range rest {
					out[i] = BatchResponse{ID: wire[i].ID, err: err}
				}
			}
			return err
		}
	}
	return nil
}

// sendChunk posts the requests of wire at indices chunk as one batch.
func (c *Client) sendChunk(ctx context.Context, wire []wireRequest, chunk []int, out []BatchResponse) error {
	const op = "batch"
	body := struct {
		Requests []wireRequest `json:"requests"`
	}{}
	for _, i := range chunk {
		body.Requests = append(body.Requests, wire[i])
	}
	resp, err := c.send(ctx, call{op: op, method: http.MethodPost, path: "/$batch", body: body})
	if err != nil {
		return err
	}
	items, err := parseBatchResponse(resp.body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, &responseError{err: err})
	}
	byID := make(map[string]wireResponse, len(items))
	for _, it := range items {
		if _, dup := byID[it.ID]; !dup {
			byID[it.ID] = it
		}
	}
	now := c.now()
	for _, i := range chunk {
		it, ok := byID[wire[i].ID]
		if !ok {
			out[i] = BatchResponse{ID: wire[i].ID, err: fmt.Errorf("batch item %s: %w", wire[i].ID, &responseError{err: errors.New("no answer in the batch response")})}
			continue
		}
		out[i] = BatchResponse{ID: it.ID, Status: it.Status, Headers: it.Headers, Body: it.Body}
		if it.Status < 200 || it.Status > 299 {
			out[i].err = newError("batch item "+it.ID, it.Status, itemHeader(it.Headers), it.Body, now, permissionsFor(wire[i].URL, ""))
		}
	}
	return nil
}

// parseBatchResponse decodes a $batch answer's items.
func parseBatchResponse(body []byte) ([]wireResponse, error) {
	var env struct {
		Responses []wireResponse `json:"responses"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	if env.Responses == nil {
		return nil, errors.New("no responses")
	}
	return env.Responses, nil
}

// itemHeader turns an item's headers into an http.Header.
func itemHeader(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// normalizeBatch checks reqs and returns them as Graph reads them: ids
// filled in and unique, methods upper case, URLs relative, dependsOn
// known, Content-Type set for a body.
func normalizeBatch(reqs []BatchRequest) ([]wireRequest, error) {
	const op = "batch"
	wire := make([]wireRequest, len(reqs))
	seen := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		w := wireRequest{ID: r.ID, Method: strings.ToUpper(r.Method), URL: r.URL, Body: r.Body, DependsOn: r.DependsOn}
		if w.ID == "" {
			w.ID = strconv.Itoa(i + 1)
		}
		if w.Method == "" {
			w.Method = http.MethodGet
		}
		switch {
		case seen[w.ID]:
			return nil, fmt.Errorf("%s: %w: request id %q is not unique", op, ErrInvalidArgument, w.ID)
		case !strings.HasPrefix(w.URL, "/") || strings.HasPrefix(w.URL, "//") || strings.ContainsAny(w.URL, " \x00\r\n"):
			return nil, fmt.Errorf("%s: %w: request %s: url %q is not a relative path", op, ErrInvalidArgument, w.ID, w.URL)
		}
		seen[w.ID] = true
		if len(r.Headers) > 0 || r.Body != nil {
			w.Headers = make(map[string]string, len(r.Headers)+1)
			for k, v := range r.Headers {
				w.Headers[k] = v
			}
		}
		if r.Body != nil && !hasKey(w.Headers, "Content-Type") {
			w.Headers["Content-Type"] = "application/json"
		}
		wire[i] = w
	}
	for _, w := range wire {
		for _, d := range w.DependsOn {
			if !seen[d] || d == w.ID {
				return nil, fmt.Errorf("%s: %w: request %s depends on %q, not another request of the call", op, ErrInvalidArgument, w.ID, d)
			}
		}
	}
	return wire, nil
}

func hasKey(m map[string]string, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// splitBatch groups the indices of wire into batches of at most MaxBatch,
// keeping requests joined by dependsOn (directly or not) in one batch and
// the order of wire within each. A group larger than MaxBatch is refused.
func splitBatch(wire []wireRequest) ([][]int, error) {
	index := make(map[string]int, len(wire))
	for i, w := range wire {
		index[w.ID] = i
	}
	parent := make([]int, len(wire))
	for i := range parent {
		parent[i] = i
	}
	var root func(int) int
	root = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i, w := range wire {
		for _, d := range w.DependsOn {
			if j, ok := index[d]; ok {
				parent[root(i)] = root(j)
			}
		}
	}
	var groups [][]int // in the order of their first request
	groupOf := map[int]int{}
	for i := range wire {
		r := root(i)
		g, ok := groupOf[r]
		if !ok {
			g = len(groups)
			groupOf[r] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	var chunks [][]int
	var cur []int
	for _, g := range groups {
		if len(g) > MaxBatch {
			return nil, fmt.Errorf("batch: %w: %d requests joined by dependsOn, more than %d", ErrInvalidArgument, len(g), MaxBatch)
		}
		if len(cur)+len(g) > MaxBatch {
			chunks = append(chunks, cur)
			cur = nil
		}
		cur = append(cur, g...)
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	for _, ch := range chunks {
		slices.Sort(ch)
	}
	return chunks, nil
}
