package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// maxBatchRequests is the most requests one $batch may carry.
const maxBatchRequests = 20

// batchItem is one request of a JSON batch.
type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// batchAnswer is one response of a JSON batch.
type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// parseBatch reads a $batch body and returns its requests in an order
// that runs every request after those it depends on (else in the order
// given). It refuses what Graph refuses as a whole (teams-protocol-2026.md
// §1.7): malformed JSON, no requests or more than 20, a missing or
// duplicate id, an unknown method, an absolute or empty url, a body
// without a Content-Type header, a dependsOn naming no request of the
// batch, and dependency cycles.
func parseBatch(body []byte) ([]batchItem, error) {
	var b struct {
		Requests []batchItem `json:"requests"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, gBadRequest("Invalid batch payload format: %v", err)
	}
	switch n := len(b.Requests); {
	case n == 0:
		return nil, gBadRequest("Invalid batch payload format: the batch has no requests.")
	case n > maxBatchRequests:
		return nil, gBadRequest("Number of requests exceeds the limit of %d.", maxBatchRequests)
	}
	index := map[string]int{}
	for i, it := range b.Requests {
		if err := checkBatchItem(it); err != nil {
			return nil, err
		}
		if _, dup := index[it.ID]; dup {
			return nil, gBadRequest("Batch request ids must be unique: '%s' appears twice.", it.ID)
		}
		index[it.ID] = i
	}
	for _, it := range b.Requests {
		for _, d := range it.DependsOn {
			if _, ok := index[d]; !ok || d == it.ID {
				return nil, gBadRequest("Request '%s' depends on '%s', which is not another request of the batch.", it.ID, d)
			}
		}
	}
	return orderBatch(b.Requests, index)
}

func checkBatchItem(it batchItem) error {
	switch {
	case strings.TrimSpace(it.ID) == "":
		return gBadRequest("Every batch request needs an id.")
	case !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, strings.ToUpper(it.Method)):
		return gBadRequest("Request '%s' has an invalid method '%s'.", it.ID, it.Method)
	case it.URL == "" || strings.Contains(it.URL, "://"):
		return gBadRequest("Request '%s' needs a url relative to the service root.", it.ID)
	}
	if len(bytes.TrimSpace(it.Body)) > 0 && string(bytes.TrimSpace(it.Body)) != "null" {
		for k, v := range it.Headers {
			if strings.EqualFold(k, "Content-Type") && v != "" {
				return nil
			}
		}
		return gBadRequest("Write request id : %s does not contain Content-Type header or body.", it.ID)
	}
	return nil
}

// orderBatch sorts items so that each follows what it depends on, keeping
// the given order otherwise; a cycle is refused.
func orderBatch(items []batchItem, index map[string]int) ([]batchItem, error) {
	done := make([]bool, len(items))
	out := make([]batchItem, 0, len(items))
	for len(out) < len(items) {
		progressed := false
		for i, it := range items {
			if done[i] {
				continue
			}
			ready := true
			for _, d := range it.DependsOn {
				ready = ready && done[index[d]]
			}
			if ready {
				done[i], progressed = true, true
				out = append(out, it)
			}
		}
		if !progressed {
			return nil, gBadRequest("The dependsOn of the batch's requests form a cycle.")
		}
	}
	return out, nil
}

// gBatch is POST /$batch: each request runs as if sent on its own (its
// own faults, limits, permissions: a 429 for one item does not fail the
// others), in dependency order; a request whose dependency did not succeed
// gets 424. The answer is 200 with one response per request, in the order
// given.
func (e *Emulator) gBatch(c *graphCall) (graphResult, error) {
	items, err := parseBatch(c.body)
	if err != nil {
		e.fail(fmt.Errorf("graph POST /$batch: %w", err))
		return graphResult{}, err
	}
	status := map[string]int{}
	answers := map[string]batchAnswer{}
	for _, it := range items {
		a := batchAnswer{ID: it.ID}
		failed := ""
		for _, d := range it.DependsOn {
			if status[d] < 200 || status[d] > 299 {
				failed = d
			}
		}
		if failed != "" {
			a.Status = http.StatusFailedDependency
			a.Body, _ = json.Marshal(map[string]any{"error": map[string]any{"code": "FailedDependency",
				"message": fmt.Sprintf("The request depends on request '%s', which failed.", failed)}})
		} else {
			a = e.runBatchItem(c, it)
		}
		status[it.ID] = a.Status
		answers[it.ID] = a
	}
	var b struct {
		Requests []batchItem `json:"requests"`
	}
	_ = json.Unmarshal(c.body, &b)
	out := make([]batchAnswer, 0, len(b.Requests))
	for _, it := range b.Requests {
		out = append(out, answers[it.ID])
	}
	return graphResult{status: http.StatusOK, body: map[string]any{"responses": out}}, nil
}

// runBatchItem serves one batch request through the Graph routes.
func (e *Emulator) runBatchItem(c *graphCall, it batchItem) batchAnswer {
	a := batchAnswer{ID: it.ID}
	target := GraphPath + "/" + strings.TrimPrefix(it.URL, "/")
	if p, _, _ := strings.Cut(target, "?"); strings.EqualFold(p, GraphPath+"/$batch") {
		a.Status = http.StatusBadRequest
		a.Body, _ = json.Marshal(map[string]any{"error": map[string]any{"code": "BadRequest", "message": "A batch cannot contain a batch."}})
		return a
	}
	var body []byte
	if len(bytes.TrimSpace(it.Body)) > 0 {
		body = it.Body
	}
	req, err := http.NewRequestWithContext(c.r.Context(), strings.ToUpper(it.Method), target, bytes.NewReader(body))
	if err != nil {
		a.Status = http.StatusBadRequest
		a.Body, _ = json.Marshal(map[string]any{"error": map[string]any{"code": "BadRequest", "message": "Invalid url: " + err.Error()}})
		return a
	}
	for k, v := range it.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", c.auth)
	rec := &batchRecorder{header: http.Header{}}
	e.graphMux.ServeHTTP(rec, req)
	a.Status = rec.status
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	a.Headers = map[string]string{}
	for k, v := range rec.header {
		a.Headers[k] = strings.Join(v, ", ")
	}
	switch trimmed := bytes.TrimSpace(rec.body.Bytes()); {
	case len(trimmed) == 0:
	case json.Valid(trimmed):
		a.Body = trimmed
	default:
		a.Body, _ = json.Marshal(string(trimmed))
	}
	return a
}

// batchRecorder captures the answer to one batch request.
type batchRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *batchRecorder) Header() http.Header { return r.header }

func (r *batchRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *batchRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
