package server

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"herald"
	"herald/api"
	"herald/card"
)

// Paging limits of the listings.
const (
	defaultNotificationPage = 50
	maxNotificationPage     = 100
	defaultPage             = 100
	maxPage                 = 1000
	// maxWait is the longest ?wait= on GET /v1/notifications/{id}.
	maxWait = time.Minute
)

// createNotification is POST /v1/notifications.
func (s *Server) createNotification(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	req, warnings, err := parseNotification(body, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	return s.send(w, r, req, warnings)
}

// send hands a validated request to the engine and answers 202 with the
// notification and what its expansion found (see accepted).
func (s *Server) send(w http.ResponseWriter, r *http.Request, req herald.NotificationRequest, warnings []card.Warning) error {
	if err := s.checkTopic(req); err != nil {
		return err
	}
	n, err := s.engine.Send(r.Context(), req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	out, err := s.accepted(r.Context(), n)
	if err != nil {
		return err
	}
	out.Warnings = warnings
	w.Header().Set("Location", "/v1/notifications/"+n.ID)
	return writeJSON(w, http.StatusAccepted, out)
}

// getNotification is GET /v1/notifications/{id}[?wait=10s].
func (s *Server) getNotification(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "wait"); err != nil {
		return err
	}
	id := r.PathValue("id")
	wait, err := parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		return err
	}
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		_, err := s.engine.Wait(ctx, id)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return lookup(err, "notification", id, "")
		}
	}
	n, err := s.engine.Get(r.Context(), id)
	if err != nil {
		return lookup(err, "notification", id, "")
	}
	out := apiNotification(n, nil)
	if out.Reasons, err = s.store.NotificationReasons(r.Context(), id); err != nil {
		return fmt.Errorf("get notification: %w", err)
	}
	if len(out.Reasons) == 0 {
		out.Reasons = nil
	}
	return writeJSON(w, http.StatusOK, out)
}

// parseWait reads ?wait=: a Go duration ("1.5s") or whole seconds.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, invalid("wait", "must be a duration such as 10s (or whole seconds), at most %s", maxWait)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > maxWait {
		return 0, invalid("wait", "must be between 0 and %s", maxWait)
	}
	return d, nil
}

// listNotifications is GET /v1/notifications[?order=newest&welcomes=false].
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "state", "cursor", "limit", "order", "welcomes"); err != nil {
		return err
	}
	var newest, noWelcomes bool
	switch o := r.URL.Query().Get("order"); o {
	case "", "oldest":
	case "newest":
		newest = true
	default:
		return invalid("order", "%q is not oldest or newest", o)
	}
	if v := r.URL.Query().Get("welcomes"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			return invalid("welcomes", "%q is not true or false", v)
		}
		noWelcomes = !b
	}
	limit, err := queryInt(r, "limit", defaultNotificationPage, 1, maxNotificationPage)
	if err != nil {
		return err
	}
	var states []herald.NotificationState
	for _, v := range queryList(r, "state") {
		st := herald.NotificationState(v)
		switch st {
		case herald.NotificationScheduled, herald.NotificationExpanding, herald.NotificationSending,
			herald.NotificationCompleted, herald.NotificationCancelled:
			states = append(states, st)
		default:
			return invalid("state", "%q is not scheduled, expanding, sending, completed or cancelled", v)
		}
	}
	ns, err := s.store.NotificationList(r.Context(), herald.NotificationListParams{
		States: states, After: r.URL.Query().Get("cursor"), Limit: limit, Newest: newest, NoWelcomes: noWelcomes,
	})
	if err != nil {
		return fmt.Errorf("list notifications: %w", err)
	}
	out := api.NotificationList{Notifications: make([]api.Notification, 0, len(ns))}
	for _, n := range ns {
		full, err := s.engine.Get(r.Context(), n.ID)
		if err != nil {
			return fmt.Errorf("list notifications: %w", err)
		}
		out.Notifications = append(out.Notifications, apiNotification(full, nil))
	}
	if len(ns) == limit {
		out.Next = ns[len(ns)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// notificationExists answers 404 for an unknown notification.
func (s *Server) notificationExists(ctx context.Context, id string) error {
	if _, err := s.store.NotificationGet(ctx, id); err != nil {
		return lookup(err, "notification", id, "")
	}
	return nil
}

// listDeliveries is GET /v1/notifications/{id}/deliveries: a JSON page,
// or with Accept: text/csv (or ?format=csv) every delivery as CSV,
// streamed page by page.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "state", "reason", "cursor", "limit", "format"); err != nil {
		return err
	}
	id := r.PathValue("id")
	var f herald.DeliveryFilter
	for _, v := range queryList(r, "state") {
		st := herald.DeliveryState(v)
		if !st.Valid() {
			return invalid("state", "%q is not a delivery state (pending, sending, delivered, skipped, failed, cancelled, uncertain)", v)
		}
		f.States = append(f.States, st)
	}
	f.Reason = herald.Reason(r.URL.Query().Get("reason"))
	var after int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			return invalid("cursor", "is not a cursor this listing returned")
		}
		after = n
	}
	limit, err := queryInt(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	asCSV, err := wantsCSV(r)
	if err != nil {
		return err
	}
	if err := s.notificationExists(r.Context(), id); err != nil {
		return err
	}
	if asCSV {
		return s.exportDeliveries(w, r, id, f, after)
	}
	ds, err := s.engine.Deliveries(r.Context(), id, f, herald.Page{After: after, Limit: limit})
	if err != nil {
		return fmt.Errorf("list deliveries: %w", err)
	}
	out := api.DeliveryList{Deliveries: ds}
	if out.Deliveries == nil {
		out.Deliveries = []herald.Delivery{}
	}
	if len(ds) == limit {
		out.Next = strconv.FormatInt(ds[len(ds)-1].ID, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

// wantsCSV reports whether the caller asked for CSV.
func wantsCSV(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("format") {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, invalid("format", "must be json or csv")
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true, nil
		}
	}
	return false, nil
}

// exportDeliveries streams every selected delivery as CSV, a page at a
// time, flushing after each.
func (s *Server) exportDeliveries(w http.ResponseWriter, r *http.Request, id string, f herald.DeliveryFilter, after int64) error {
	page, err := s.engine.Deliveries(r.Context(), id, f, herald.Page{After: after, Limit: maxPage})
	if err != nil {
		return fmt.Errorf("export deliveries: %w", err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+"-deliveries.csv"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	if err := cw.Write(api.DeliveryCSVHeader()); err != nil {
		return fmt.Errorf("export deliveries: %w", err)
	}
	rc := http.NewResponseController(w)
	for {
		for _, d := range page {
			if err := cw.Write(api.DeliveryCSVRecord(d)); err != nil {
				return fmt.Errorf("export deliveries: %w", err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("export deliveries: %w", err)
		}
		_ = rc.Flush()
		if len(page) < maxPage {
			return nil
		}
		page, err = s.engine.Deliveries(r.Context(), id, f, herald.Page{After: page[len(page)-1].ID, Limit: maxPage})
		if err != nil {
			return fmt.Errorf("export deliveries: %w", err)
		}
	}
}

// cancelNotification is POST /v1/notifications/{id}/cancel.
func (s *Server) cancelNotification(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.notificationExists(r.Context(), id); err != nil {
		return err
	}
	n, err := s.engine.Cancel(r.Context(), id)
	if err != nil {
		return lookup(err, "notification", id, "")
	}
	return writeJSON(w, http.StatusOK, apiNotification(n, nil))
}

// retryNotification is POST /v1/notifications/{id}/retry; the body (a
// RetryRequest) may be empty.
func (s *Server) retryNotification(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req api.RetryRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := requireJSON(r); err != nil {
			return err
		}
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}
	if err := s.notificationExists(r.Context(), id); err != nil {
		return err
	}
	reopened, err := s.engine.Retry(r.Context(), id, herald.RetryOptions{Uncertain: req.Uncertain})
	if err != nil {
		return lookup(err, "notification", id, "")
	}
	n, err := s.engine.Get(r.Context(), id)
	if err != nil {
		return lookup(err, "notification", id, "")
	}
	return writeJSON(w, http.StatusOK, api.RetryResult{Reopened: reopened, Notification: apiNotification(n, nil)})
}
