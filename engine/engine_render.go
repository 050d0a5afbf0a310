package engine

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"herald"

	"herald/botframework"
)

// runtime is what senders share about one notification while it sends.
type runtime struct {
	n         herald.Notification
	deadline  time.Time
	templated bool                   // content has placeholders
	plain     *botframework.Activity // the activity, when not templated (read only)
	cancelled atomic.Bool
	refs      int
}

// runtimes caches runtime per notification id.
type runtimes struct {
	mu sync.Mutex
	m  map[string]*runtime
	// gone remembers cancelled ids so a late sender sees it.
	gone map[string]bool
	// expanding has, per notification being expanded and tenant, a
	// channel closed when the expansion in this process records more of
	// that tenant's deliveries (or ends).
	expanding map[string]map[string]chan struct{}
}

// expansionCh returns the channel closed when the notification's
// expansion next records deliveries of tenant (or ends).
func (rs *runtimes) expansionCh(id, tenant string) <-chan struct{} {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.expanding == nil {
		rs.expanding = map[string]map[string]chan struct{}{}
	}
	byTenant := rs.expanding[id]
	if byTenant == nil {
		byTenant = map[string]chan struct{}{}
		rs.expanding[id] = byTenant
	}
	ch := byTenant[tenant]
	if ch == nil {
		ch = make(chan struct{})
		byTenant[tenant] = ch
	}
	return ch
}

// expanded wakes the senders of tenants waiting for the notification's
// expansion; with no tenants (the expansion ended) it wakes them all.
func (rs *runtimes) expanded(id string, tenants []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	byTenant := rs.expanding[id]
	if tenants == nil {
		for _, ch := range byTenant {
			close(ch)
		}
		delete(rs.expanding, id)
		return
	}
	for _, t := range tenants {
		if ch := byTenant[t]; ch != nil {
			close(ch)
			delete(byTenant, t)
		}
	}
}

// acquire returns the notification's runtime, loading it if needed; pair
// with release.
func (e *Engine) acquireRuntime(ctx context.Context, id string) (*runtime, error) {
	e.rt.mu.Lock()
	if r := e.rt.m[id]; r != nil {
		r.refs++
		e.rt.mu.Unlock()
		return r, nil
	}
	e.rt.mu.Unlock()
	n, err := e.store.NotificationGet(ctx, id)
	if err != nil {
		return nil, err
	}
	r := newRuntime(n, e.cfg.Deadline)
	if n.State == herald.NotificationCancelled {
		r.cancelled.Store(true)
	}
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	if cur := e.rt.m[id]; cur != nil {
		cur.refs++
		return cur, nil
	}
	r.refs = 1
	e.rt.m[id] = r
	return r, nil
}

// releaseRuntime gives back a runtime and reports whether it was the
// last holder in this process.
func (e *Engine) releaseRuntime(r *runtime) bool {
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	r.refs--
	if r.refs <= 0 && e.rt.m[r.n.ID] == r {
		delete(e.rt.m, r.n.ID)
	}
	return r.refs <= 0
}

// cancelled flags a notification's runtime as cancelled.
func (rs *runtimes) cancelled(id string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.m[id]; r != nil {
		r.cancelled.Store(true)
	}
	if rs.gone == nil {
		rs.gone = map[string]bool{}
	}
	rs.gone[id] = true
}

func (rs *runtimes) isCancelled(id string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.gone[id]
}

// forget drops a cached runtime (after Retry reopens or completion), so
// the next sender reloads the notification.
func (rs *runtimes) forget(id string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.m, id)
	delete(rs.gone, id)
}

func newRuntime(n herald.Notification, defaultDeadline time.Duration) *runtime {
	r := &runtime{n: n}
	d := n.Request.Deadline
	if d <= 0 {
		d = defaultDeadline
	}
	r.deadline = n.NotBefore().Add(d)
	c := n.Request.Content
	r.templated = strings.Contains(c.Text, "{{") || strings.Contains(c.Summary, "{{")
	for _, a := range c.Attachments {
		if strings.Contains(string(a.Content), "{{") {
			r.templated = true
		}
	}
	if !r.templated {
		r.plain = r.build(c)
	}
	return r
}

// build makes the activity for content (already rendered).
func (r *runtime) build(c herald.Content) *botframework.Activity {
	a := &botframework.Activity{
		Type:             botframework.TypeMessage,
		Text:             c.Text,
		TextFormat:       c.TextFormat,
		Summary:          c.Summary,
		Attachments:      c.Attachments,
		AttachmentLayout: c.AttachmentLayout,
	}
	if a.TextFormat == "" && a.Text != "" {
		a.TextFormat = botframework.TextFormatMarkdown
	}
	return a
}

// activity returns the message for delivery d.
func (r *runtime) activity(d *herald.Delivery) *botframework.Activity {
	var a *botframework.Activity
	if !r.templated {
		cp := *r.plain
		a = &cp
	} else {
		look := r.lookup(d)
		c := r.n.Request.Content
		c.Text = render(c.Text, look, false)
		c.Summary = render(c.Summary, look, false)
		if len(c.Attachments) > 0 {
			atts := make([]botframework.Attachment, len(c.Attachments))
			for i, at := range c.Attachments {
				if out := render(string(at.Content), look, true); json.Valid([]byte(out)) {
					at.Content = json.RawMessage(out)
				}
				atts[i] = at
			}
			c.Attachments = atts
		}
		a = r.build(c)
	}
	if r.n.Request.Alert && d.Kind == herald.KindPersonal {
		a.ChannelData = &botframework.ChannelData{Notification: &botframework.NotificationInfo{Alert: true}}
	}
	return a
}

// lookup resolves a placeholder name for d.
func (r *runtime) lookup(d *herald.Delivery) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := d.Variables[name]; ok {
			return v, true
		}
		switch name {
		case "name":
			return d.Name, true
		case "givenName":
			if d.GivenName != "" {
				return d.GivenName, true
			}
			first, _, _ := strings.Cut(d.Name, " ")
			return first, true
		case "email":
			return d.Email, true
		case "userId":
			return d.UserID, true
		}
		v, ok := r.n.Request.Variables[name]
		return v, ok
	}
}

// render replaces {{name}} placeholders (spaces around the name allowed)
// with values from look; unknown names stay as written. In JSON mode the
// value is escaped for use inside a JSON string.
func render(s string, look func(string) (string, bool), jsonMode bool) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name := strings.TrimSpace(s[i+2 : i+2+j])
		v, ok := "", false
		if validName(name) {
			v, ok = look(name)
		}
		b.WriteString(s[:i])
		switch {
		case !ok:
			b.WriteString(s[i : i+4+j])
		case jsonMode:
			q, _ := json.Marshal(v)
			b.Write(q[1 : len(q)-1])
		default:
			b.WriteString(v)
		}
		s = s[i+4+j:]
	}
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
