package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"herald/botframework"
)

// Batch operation states, as Teams reports them.
const (
	BatchProvisioning = "Provisioning"
	BatchOngoing      = "Ongoing"
	BatchCompleted    = "Completed"
)

// Batch processing.
const (
	batchChunk      = 200 // entries processed per lock
	failedPageSize  = 50  // failed entries per page
	batchRetryAfter = 2 * time.Second
)

// batchOp is a batch operation: one activity fanned out to many targets.
type batchOp struct {
	id, target, tenantID string
	activity             []byte
	members              []string // users or channels, for those targets
	teamID               string
	total, next          int
	state                string
	statusMap            map[string]int
	failed               []FailedEntry
	cancelled            bool
	created, updated     time.Time
}

// FailedEntry is one entry a batch operation could not deliver.
type FailedEntry struct {
	ID    string `json:"id"`    // the member or channel id as the request gave it
	Error string `json:"error"` // "<status> <code>: <message>"
}

// BatchState is a batch operation's state, as the Connector reports it.
type BatchState struct {
	// State is BatchProvisioning, BatchOngoing or BatchCompleted.
	State string `json:"state"`
	// StatusMap counts the entries done by HTTP status ("201" is sent).
	StatusMap map[string]int `json:"statusMap"`
	// StateMap repeats StatusMap under the name botbuilder-js reads.
	StateMap          map[string]int `json:"stateMap"`
	RetryAfter        *time.Time     `json:"retryAfter,omitempty"` // when to poll again; nil once completed
	TotalEntriesCount int            `json:"totalEntriesCount"`    // entries in the operation
	// Cancelled is an emulator extension: the operation was cancelled and
	// its remaining entries were not sent.
	Cancelled bool `json:"cancelled,omitempty"`
}

func (op *batchOp) export(now time.Time) BatchState {
	s := BatchState{State: op.state, StatusMap: map[string]int{}, TotalEntriesCount: op.total, Cancelled: op.cancelled}
	for k, v := range op.statusMap {
		s.StatusMap[k] = v
	}
	s.StateMap = s.StatusMap
	if op.state != BatchCompleted {
		t := now.Add(batchRetryAfter).UTC()
		s.RetryAfter = &t
	}
	return s
}

// batchRequest is the union of the four batch request bodies.
type batchRequest struct {
	Activity *botframework.Activity     `json:"activity"`
	Members  []botframework.BatchMember `json:"members"`
	TenantID string                     `json:"tenantId"`
	TeamID   string                     `json:"teamId"`
}

// batchSend handles POST /v3/batch/conversation/{target}.
func (e *Emulator) batchSend(target string) connectorFunc {
	return func(c *call) (result, error) {
		var req batchRequest
		if err := e.decode(c, &req); err != nil {
			return result{}, err
		}
		switch {
		case req.Activity == nil || req.Activity.Type == "":
			return result{}, errBadArgument("An activity with a type is required.")
		case req.TenantID == "":
			return result{}, &apiError{status: http.StatusBadRequest, code: "BadSyntax", message: "Could not parse tenant id"}
		case (target == "users" || target == "channels") && len(req.Members) == 0:
			return result{}, errBadArgument("Members are required.")
		case target == "team" && req.TeamID == "":
			return result{}, errBadArgument("teamId is required.")
		}
		if err := e.checkSize(c.body); err != nil {
			return result{}, err
		}
		act, _ := json.Marshal(req.Activity)
		e.mu.Lock()
		defer e.mu.Unlock()
		tn := e.tenants[req.TenantID]
		if tn == nil {
			return result{}, errBadArgument("Tenant " + req.TenantID + " not found.")
		}
		if err := e.rate("", tn.id, ""); err != nil {
			return result{}, err
		}
		if tn.disabled {
			return result{}, errDisabled()
		}
		op := &batchOp{id: e.ids.operationID(), target: target, tenantID: tn.id, activity: act, teamID: req.TeamID,
			state: BatchProvisioning, statusMap: map[string]int{}, created: e.now()}
		for _, m := range req.Members {
			op.members = append(op.members, m.ID)
		}
		switch target {
		case "users", "channels":
			op.total = len(op.members)
		case "tenant":
			op.total = tn.userCount()
		case "team":
			t := e.teams[req.TeamID]
			if t == nil || t.tenantID != tn.id {
				return result{}, errNotFound()
			}
			if !t.installed {
				return result{}, errNotInRoster()
			}
			op.total = t.memberCount(&e.world)
		}
		e.batches[op.id] = op
		e.batchQueue = append(e.batchQueue, op)
		return result{http.StatusCreated, map[string]string{"operationId": op.id}}, nil
	}
}

// batchWorker runs batch operations one after another until Close.
func (e *Emulator) batchWorker() {
	for {
		op := e.nextBatch()
		if op == nil {
			return
		}
		e.runBatch(op)
	}
}

// nextBatch waits for the next queued operation; nil means closed.
func (e *Emulator) nextBatch() *batchOp {
	for {
		e.mu.Lock()
		ch := e.changed
		if e.batchNext < len(e.batchQueue) {
			op := e.batchQueue[e.batchNext]
			e.batchQueue[e.batchNext] = nil
			e.batchNext++
			e.mu.Unlock()
			return op
		}
		e.mu.Unlock()
		select {
		case <-ch:
		case <-e.closed:
			return nil
		}
	}
}

// runBatch fans op out, a chunk at a time, while Faults.BatchPaused is off.
func (e *Emulator) runBatch(op *batchOp) {
	for {
		if !e.awaitBatchesRunning() {
			return
		}
		e.mu.Lock()
		if op.cancelled || op.next >= op.total {
			op.state = BatchCompleted
			op.updated = e.now()
			e.notifyLocked()
			e.mu.Unlock()
			return
		}
		op.state = BatchOngoing
		for n := 0; n < batchChunk && op.next < op.total; n++ {
			e.batchEntry(op, op.next)
			op.next++
		}
		op.updated = e.now()
		e.notifyLocked()
		e.mu.Unlock()
	}
}

// awaitBatchesRunning waits while batches are paused; false means closed.
func (e *Emulator) awaitBatchesRunning() bool {
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if !e.faults.batchesPaused() {
			return true
		}
		select {
		case <-ch:
		case <-e.closed:
			return false
		}
	}
}

// batchEntry sends op's activity to entry i. Caller holds e.mu.
func (e *Emulator) batchEntry(op *batchOp, i int) {
	key, conv, aerr := e.batchTarget(op, i)
	var err error = aerr
	if aerr == nil {
		err = e.canPost(conv)
	}
	status := http.StatusCreated
	var a *apiError
	if errors.As(err, &a) {
		status = a.status
		op.failed = append(op.failed, FailedEntry{ID: key, Error: strconv.Itoa(a.status) + " " + a.code + ": " + a.message})
	} else {
		var act botframework.Activity
		_ = json.Unmarshal(op.activity, &act)
		e.postFromBot(conv, &act, "")
	}
	op.statusMap[strconv.Itoa(status)]++
}

// batchTarget resolves entry i of op to its key and conversation. Caller
// holds e.mu.
func (e *Emulator) batchTarget(op *batchOp, i int) (string, *conversation, *apiError) {
	var u *user
	switch op.target {
	case "channels":
		key := op.members[i]
		t := e.teamOf(key)
		if t == nil || t.tenantID != op.tenantID {
			return key, nil, errNotFound()
		}
		return key, e.convs[key], nil
	case "users":
		u = e.findUser(op.members[i])
		if u == nil || u.tenantID != op.tenantID || !userKey(op.members[i]) {
			return op.members[i], nil, &apiError{status: http.StatusNotFound, code: "NotFound", message: "User not found."}
		}
	case "tenant":
		u = e.tenantUser(e.tenants[op.tenantID], i)
	case "team":
		r := e.teamRoster(e.teams[op.teamID])
		if i >= r.n {
			return strconv.Itoa(i), nil, errNotFound()
		}
		u = r.at(i)
	}
	key := u.id
	if op.target == "users" {
		key = op.members[i]
	}
	if !e.reachable(u) {
		return key, nil, errNotInRoster()
	}
	return key, e.personalConv(u), nil
}

// tenantUser returns user i of the tenant: explicit users first, then
// generated ones.
func (e *Emulator) tenantUser(t *tenant, i int) *user {
	if i < len(t.users) {
		return e.users[t.users[i]]
	}
	i -= len(t.users)
	if u := e.users[t.synth.userID(i)]; u != nil {
		return u
	}
	return t.synth.user(i)
}

// batchOp finds the operation of the request. Caller holds e.mu.
func (e *Emulator) batchOp(c *call) (*batchOp, error) {
	op := e.batches[c.r.PathValue("operationId")]
	if op == nil {
		return nil, &apiError{status: http.StatusNotFound, code: "NotFound", message: "Operation not found."}
	}
	return op, nil
}

// batchState handles GET /v3/batch/conversation/{operationId}.
func (e *Emulator) batchState(c *call) (result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	op, err := e.batchOp(c)
	if err != nil {
		return result{}, err
	}
	if err := e.rate("", op.tenantID, ""); err != nil {
		return result{}, err
	}
	return result{http.StatusOK, op.export(e.now())}, nil
}

// batchFailed handles GET /v3/batch/conversation/failedentries/{operationId}.
func (e *Emulator) batchFailed(c *call) (result, error) {
	from := 0
	if tok := c.r.URL.Query().Get("continuationToken"); tok != "" {
		n, ok := parsePageToken(tok)
		if !ok {
			return result{}, errBadArgument("Invalid continuation token.")
		}
		from = n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	op, err := e.batchOp(c)
	if err != nil {
		return result{}, err
	}
	if err := e.rate("", op.tenantID, ""); err != nil {
		return result{}, err
	}
	var page struct {
		ContinuationToken string        `json:"continuationToken,omitempty"`
		Entries           []FailedEntry `json:"failedEntryResponses"`
	}
	page.Entries = []FailedEntry{}
	if from < len(op.failed) {
		to := min(from+failedPageSize, len(op.failed))
		page.Entries = append(page.Entries, op.failed[from:to]...)
		if to < len(op.failed) {
			page.ContinuationToken = pageToken(to)
		}
	}
	return result{http.StatusOK, page}, nil
}

// batchCancel handles DELETE /v3/batch/conversation/{operationId}: entries
// not yet sent are dropped, and the operation completes.
func (e *Emulator) batchCancel(c *call) (result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	op, err := e.batchOp(c)
	if err != nil {
		return result{}, err
	}
	if err := e.rate("", op.tenantID, ""); err != nil {
		return result{}, err
	}
	if op.state != BatchCompleted {
		op.cancelled = true
		if op.state == BatchProvisioning {
			op.state = BatchCompleted
		}
	}
	return result{status: http.StatusOK}, nil
}

// Batch returns a batch operation's state and all its failed entries.
func (e *Emulator) Batch(operationID string) (BatchState, []FailedEntry, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	op := e.batches[operationID]
	if op == nil {
		return BatchState{}, nil, false
	}
	return op.export(e.now()), append([]FailedEntry(nil), op.failed...), true
}
