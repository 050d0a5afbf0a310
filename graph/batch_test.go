package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchServer answers $batch posts item by item with answer, listing the
// items in reverse order (Graph answers in any order), and records each
// batch's requests.
type batchServer struct {
	mu      sync.Mutex
	batches [][]wireRequest
	answer  func(round int, r wireRequest) wireResponse
}

func (b *batchServer) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1.0/$batch" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var in struct {
		Requests []wireRequest `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Requests) > MaxBatch {
		writeRaw(w, 400, `{"error":{"code":"BadRequest","message":"bad batch"}}`)
		return
	}
	b.mu.Lock()
	b.batches = append(b.batches, in.Requests)
	round := len(b.batches)
	b.mu.Unlock()
	var out []wireResponse
	for _, req := range slices.Backward(in.Requests) {
		resp := b.answer(round, req)
		resp.ID = req.ID
		out = append(out, resp)
	}
	writeJSON(w, 200, map[string]any{"responses": out})
}

func (b *batchServer) sizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n []int
	for _, x := range b.batches {
		n = append(n, len(x))
	}
	return n
}

func ok(body string) wireResponse {
	return wireResponse{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: json.RawMessage(body)}
}

func TestBatchSplitsAndOrders(t *testing.T) {
	t.Parallel()
	b := &batchServer{answer: func(_ int, r wireRequest) wireResponse {
		switch {
		case r.URL == "/organization":
			return wireResponse{Status: 403, Body: json.RawMessage(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)}
		case r.URL == "/users/missing":
			return wireResponse{Status: 404, Body: json.RawMessage(`{"error":{"code":"Request_ResourceNotFound","message":"Resource 'missing' does not exist."}}`)}
		case len(r.DependsOn) > 0 && r.DependsOn[0] == "org":
			return wireResponse{Status: 424, Body: json.RawMessage(`{"error":{"code":"FailedDependency"}}`)}
		}
		return ok(fmt.Sprintf(`{"id":%q}`, strings.TrimPrefix(r.URL, "/users/")))
	}}
	c, _ := newFakeGraph(t, b.handle)
	var reqs []BatchRequest
	for i := range 43 {
		reqs = append(reqs, BatchRequest{URL: fmt.Sprintf("/users/u%d", i)})
	}
	reqs = append(reqs,
		BatchRequest{ID: "org", URL: "/organization"},
		BatchRequest{ID: "after-org", URL: "/users/x", DependsOn: []string{"org"}},
		BatchRequest{ID: "m", URL: "/users/missing"})
	got, err := c.Batch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if sizes := b.sizes(); !slices.Equal(sizes, []int{20, 20, 6}) {
		t.Errorf("batch sizes = %v, want [20 20 6]", sizes)
	}
	for i := range 43 {
		var u User
		if err := got[i].Decode(&u); err != nil || u.ID != fmt.Sprintf("u%d", i) || got[i].ID != fmt.Sprint(i+1) {
			t.Errorf("item %d: %+v, %v", i, u, err)
		}
	}
	org, after, missing := got[43].Err(), got[44].Err(), got[45].Err()
	if Classify(org).Kind != KindPermissionMissing || !strings.Contains(PermissionAdvice(org), PermOrganizationRead) {
		t.Errorf("org item: %v", org)
	}
	if Classify(after).Kind != KindDependencyFailed || !errors.Is(missing, ErrNotFound) {
		t.Errorf("dependant: %v; missing: %v", after, missing)
	}
}

func TestSplitBatchKeepsDependenciesTogether(t *testing.T) {
	t.Parallel()
	mk := func(n int, deps map[int][]int) []wireRequest {
		w := make([]wireRequest, n)
		for i := range w {
			w[i].ID = fmt.Sprint(i)
			for _, d := range deps[i] {
				w[i].DependsOn = append(w[i].DependsOn, fmt.Sprint(d))
			}
		}
		return w
	}
	// 18 free requests, then a chain 18→19→20: the chain moves to the next batch.
	chunks, err := splitBatch(mk(21, map[int][]int{19: {18}, 20: {19}}))
	if err != nil || len(chunks) != 2 || len(chunks[0]) != 18 || !slices.Equal(chunks[1], []int{18, 19, 20}) {
		t.Errorf("chunks = %v, %v", chunks, err)
	}
	// A dependency pointing forward joins both ends.
	chunks, err = splitBatch(mk(40, map[int][]int{0: {39}}))
	if err != nil || !slices.Contains(chunks[0], 39) || len(chunks[0]) != 20 {
		t.Errorf("forward chunks = %v, %v", chunks, err)
	}
	chain := map[int][]int{}
	for i := 1; i < 21; i++ {
		chain[i] = []int{i - 1}
	}
	if _, err := splitBatch(mk(21, chain)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a 21-request chain: err = %v", err)
	}
}

func TestBatchRefusesBadRequests(t *testing.T) {
	t.Parallel()
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {})
	tests := []struct {
		name string
		reqs []BatchRequest
	}{
		{"duplicate id", []BatchRequest{{ID: "a", URL: "/users"}, {ID: "a", URL: "/groups"}}},
		{"implicit id collides", []BatchRequest{{ID: "2", URL: "/users"}, {URL: "/groups"}}},
		{"absolute url", []BatchRequest{{URL: "https://evil.example/v1.0/users"}}},
		{"protocol-relative url", []BatchRequest{{URL: "//evil.example/users"}}},
		{"unknown dependency", []BatchRequest{{ID: "a", URL: "/users", DependsOn: []string{"z"}}}},
		{"self dependency", []BatchRequest{{ID: "a", URL: "/users", DependsOn: []string{"a"}}}},
	}
	for _, tt := range tests {
		if _, err := c.Batch(context.Background(), tt.reqs); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tt.name, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestBatchBodyGetsContentType(t *testing.T) {
	t.Parallel()
	b := &batchServer{answer: func(int, wireRequest) wireResponse { return wireResponse{Status: 201} }}
	c, _ := newFakeGraph(t, b.handle)
	_, err := c.Batch(context.Background(), []BatchRequest{{ID: "i", Method: "post", URL: "/users/u1/teamwork/installedApps",
		Body: map[string]string{"teamsApp@odata.bind": "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := b.batches[0][0]
	if sent.Method != "POST" || sent.Headers["Content-Type"] != "application/json" {
		t.Errorf("sent %+v", sent)
	}
}

func TestBatchRetryResendsThrottledItems(t *testing.T) {
	t.Parallel()
	b := &batchServer{answer: func(round int, r wireRequest) wireResponse {
		switch {
		case round == 1 && r.ID == "slow":
			return wireResponse{Status: 429, Headers: map[string]string{"Retry-After": "7"}, Body: json.RawMessage(`{"error":{"code":"TooManyRequests"}}`)}
		case round == 1 && r.ID == "child":
			return wireResponse{Status: 424}
		case round == 1 && r.ID == "busy":
			return wireResponse{Status: 503, Headers: map[string]string{"retry-after": "3"}}
		case r.ID == "gone":
			return wireResponse{Status: 404}
		}
		return ok(`{}`)
	}}
	c, _ := newFakeGraph(t, b.handle)
	sleeps := &recordSleeps{}
	reqs := []BatchRequest{
		{ID: "fine", URL: "/users/a"},
		{ID: "slow", URL: "/users/b"},
		{ID: "child", URL: "/users/c", DependsOn: []string{"slow", "fine"}},
		{ID: "busy", URL: "/users/d"},
		{ID: "gone", URL: "/users/e"},
	}
	got, err := c.BatchRetry(context.Background(), RetryPolicy{Sleep: sleeps.sleep}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if w := sleeps.waits(); !slices.Equal(w, []time.Duration{7 * time.Second}) {
		t.Errorf("waits = %v, want the longest Retry-After once", w)
	}
	if b.sizes()[1] != 3 {
		t.Fatalf("second round sent %d items, want slow, child, busy", b.sizes()[1])
	}
	child := b.batches[1][1]
	if child.ID != "child" || !slices.Equal(child.DependsOn, []string{"slow"}) {
		t.Errorf("child resent as %+v, want dependsOn [slow] only", child)
	}
	for i, r := range got {
		wantErr := r.ID == "gone"
		if (r.Err() != nil) != wantErr {
			t.Errorf("item %d (%s): %v", i, r.ID, r.Err())
		}
	}
}

func TestBatchRetryGivesUp(t *testing.T) {
	t.Parallel()
	b := &batchServer{answer: func(int, wireRequest) wireResponse {
		return wireResponse{Status: 429, Headers: map[string]string{"Retry-After": "1"}}
	}}
	c, _ := newFakeGraph(t, b.handle)
	sleeps := &recordSleeps{}
	got, err := c.BatchRetry(context.Background(), RetryPolicy{Attempts: 3, Sleep: sleeps.sleep}, []BatchRequest{{URL: "/users/a"}})
	if err != nil || len(b.sizes()) != 3 || len(sleeps.waits()) != 2 {
		t.Fatalf("rounds %v, waits %v, err %v", b.sizes(), sleeps.waits(), err)
	}
	if c := Classify(got[0].Err()); c.Kind != KindThrottled || c.RetryAfter != time.Second {
		t.Errorf("last answer = %+v", c)
	}
}

func TestBatchRetryWholeBatchThrottled(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			writeRaw(w, 429, `{"error":{"code":"TooManyRequests"}}`)
			return
		}
		writeRaw(w, 200, `{"responses":[{"id":"1","status":200,"body":{}}]}`)
	})
	sleeps := &recordSleeps{}
	got, err := c.BatchRetry(context.Background(), RetryPolicy{Sleep: sleeps.sleep}, []BatchRequest{{URL: "/users/a"}})
	if err != nil || got[0].Status != 200 || !slices.Equal(sleeps.waits(), []time.Duration{2 * time.Second}) {
		t.Errorf("got %+v, err %v, waits %v", got, err, sleeps.waits())
	}
}
