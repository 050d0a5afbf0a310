package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"herald"
)

// mergeSet renders "col = CASE WHEN excluded.col <> ” THEN excluded.col
// ELSE table.col END" for each column: the upsert keeps stored values
// where the new row has empty strings.
func mergeSet(table string, cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%[2]s = CASE WHEN excluded.%[2]s <> '' THEN excluded.%[2]s ELSE %[1]s.%[2]s END", table, c)
	}
	return strings.Join(parts, ",\n\t")
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// TenantUpsert implements herald.DirectoryStore.
func (s *Store) TenantUpsert(ctx context.Context, t herald.Tenant) error {
	if t.ID == "" {
		return errors.New("tenant upsert: empty id")
	}
	now := toMicros(s.now())
	_, err := s.exec(ctx, `INSERT INTO tenants (id, service_url, last_seen, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $4)
	ON CONFLICT (id) DO UPDATE SET
	`+mergeSet("tenants", "service_url")+`,
	last_seen = CASE WHEN excluded.last_seen > tenants.last_seen THEN excluded.last_seen ELSE tenants.last_seen END,
	updated_at = excluded.updated_at`, t.ID, t.ServiceURL, toMicros(t.LastSeen), now)
	if err != nil {
		return fmt.Errorf("tenant upsert: %w", s.mapErr(err))
	}
	return nil
}

// TenantGet implements herald.DirectoryStore.
func (s *Store) TenantGet(ctx context.Context, id string) (herald.Tenant, error) {
	var t herald.Tenant
	var seen int64
	err := s.queryRow(ctx, `SELECT id, service_url, last_seen FROM tenants WHERE id = $1`, id).
		Scan(&t.ID, &t.ServiceURL, &seen)
	if err != nil {
		return herald.Tenant{}, fmt.Errorf("tenant get: %w", s.mapErr(err))
	}
	t.LastSeen = fromMicros(seen)
	return t, nil
}

const userCols = `users.id, users.tenant_id, users.aad_object_id, users.upn, users.email, users.name,
	users.given_name, users.surname, users.conversation_id, users.service_url, users.installed,
	users.blocked, users.uninstalled, users.installed_at, users.locale, users.time_zone,
	users.last_seen, users.created_at, users.updated_at`

func scanUser(r rowScanner) (herald.User, error) {
	var u herald.User
	var installedAt, seen, created, updated int64
	err := r.Scan(&u.ID, &u.TenantID, &u.AADObjectID, &u.UPN, &u.Email, &u.Name,
		&u.GivenName, &u.Surname, &u.ConversationID, &u.ServiceURL, &u.Installed,
		&u.Blocked, &u.Uninstalled, &installedAt, &u.Locale, &u.TimeZone,
		&seen, &created, &updated)
	if err != nil {
		return herald.User{}, err
	}
	u.InstalledAt = fromMicros(installedAt)
	u.LastSeen = fromMicros(seen)
	u.CreatedAt = fromMicros(created)
	u.UpdatedAt = fromMicros(updated)
	return u, nil
}

var userUpsertSQL = `INSERT INTO users (id, tenant_id, aad_object_id, upn, email, name, given_name, surname,
	conversation_id, service_url, locale, time_zone, last_seen, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
	ON CONFLICT (id) DO UPDATE SET
	` + mergeSet("users", "tenant_id", "aad_object_id", "upn", "email", "name", "given_name", "surname",
	"conversation_id", "service_url", "locale", "time_zone") + `,
	last_seen = CASE WHEN excluded.last_seen > users.last_seen THEN excluded.last_seen ELSE users.last_seen END,
	updated_at = excluded.updated_at
	RETURNING ` + userCols

// UserUpsert implements herald.DirectoryStore.
func (s *Store) UserUpsert(ctx context.Context, p herald.UserUpsertParams) (herald.User, error) {
	if p.ID == "" {
		return herald.User{}, errors.New("user upsert: empty id")
	}
	u, err := scanUser(s.queryRow(ctx, userUpsertSQL, p.ID, p.TenantID, p.AADObjectID, p.UPN,
		p.Email, p.Name, p.GivenName, p.Surname, p.ConversationID, p.ServiceURL, p.Locale, p.TimeZone,
		toMicros(p.LastSeen), toMicros(s.now())))
	if err != nil {
		return herald.User{}, fmt.Errorf("user upsert: %w", s.mapErr(err))
	}
	return u, nil
}

// UserGet implements herald.DirectoryStore.
func (s *Store) UserGet(ctx context.Context, id string) (herald.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return herald.User{}, fmt.Errorf("user get: %w", s.mapErr(err))
	}
	return u, nil
}

// UserFind implements herald.DirectoryStore. An identifier shaped like a
// Teams id ("29:…") matches the id; one with "@" matches UPN or email;
// anything else matches the Entra object id or the id. When several users
// of different tenants match and tenantID is "", it returns ErrConflict.
func (s *Store) UserFind(ctx context.Context, tenantID, identifier string) (herald.User, error) {
	identifier = strings.TrimSpace(identifier)
	if identifier == "" {
		return herald.User{}, fmt.Errorf("user find: empty identifier: %w", herald.ErrNotFound)
	}
	var match string
	switch {
	case strings.HasPrefix(identifier, "29:"):
		match = `users.id = $2`
	case strings.Contains(identifier, "@"):
		match = `(lower(users.upn) = lower($2) OR lower(users.email) = lower($2))`
	default:
		match = `(lower(users.aad_object_id) = lower($2) OR users.id = $2)`
	}
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users
	WHERE ($1 = '' OR users.tenant_id = $1) AND `+match+` ORDER BY users.id LIMIT 2`, tenantID, identifier)
	if err != nil {
		return herald.User{}, fmt.Errorf("user find: %w", s.mapErr(err))
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return herald.User{}, fmt.Errorf("user find: %w", s.mapErr(err))
	}
	switch len(users) {
	case 0:
		return herald.User{}, fmt.Errorf("user find %q: %w", identifier, herald.ErrNotFound)
	case 1:
		return users[0], nil
	default:
		return herald.User{}, fmt.Errorf("user find %q: matches several users: %w", identifier, herald.ErrConflict)
	}
}

// UserList implements herald.DirectoryStore.
func (s *Store) UserList(ctx context.Context, p herald.UserListParams) ([]herald.User, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT ` + userCols + ` FROM users`
	if p.TeamID != "" {
		q += ` JOIN memberships ON memberships.user_id = users.id AND memberships.team_id = $4`
	}
	q += ` WHERE ($1 = '' OR users.tenant_id = $1) AND users.id > $2`
	if p.ReachableOnly {
		q += ` AND users.blocked = false AND users.uninstalled = false`
	}
	q += ` ORDER BY users.id LIMIT $3`
	args := []any{p.TenantID, p.After, limit}
	if p.TeamID != "" {
		args = append(args, p.TeamID)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("user list: %w", s.mapErr(err))
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("user list: %w", s.mapErr(err))
	}
	return users, nil
}

// UserSetConversation implements herald.DirectoryStore.
func (s *Store) UserSetConversation(ctx context.Context, userID, conversationID string) error {
	return s.execOne(ctx, "user set conversation",
		`UPDATE users SET conversation_id = $2, updated_at = $3 WHERE id = $1`,
		userID, conversationID, toMicros(s.now()))
}

// UserSetBlocked implements herald.DirectoryStore.
func (s *Store) UserSetBlocked(ctx context.Context, userID string, blocked bool) error {
	return s.execOne(ctx, "user set blocked",
		`UPDATE users SET blocked = $2, updated_at = $3 WHERE id = $1`,
		userID, blocked, toMicros(s.now()))
}

// UserSetInstalled implements herald.DirectoryStore.
func (s *Store) UserSetInstalled(ctx context.Context, userID string, installed bool, at time.Time) error {
	if installed {
		return s.execOne(ctx, "user set installed",
			`UPDATE users SET installed = true, uninstalled = false, installed_at = $2, updated_at = $3 WHERE id = $1`,
			userID, toMicros(at), toMicros(s.now()))
	}
	return s.execOne(ctx, "user set installed",
		`UPDATE users SET installed = false, uninstalled = true, uninstalled_at = $2, updated_at = $3 WHERE id = $1`,
		userID, toMicros(at), toMicros(s.now()))
}

// execOne runs an UPDATE or DELETE that must touch a row; none is
// ErrNotFound.
func (s *Store) execOne(ctx context.Context, op, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, s.mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, s.mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, herald.ErrNotFound)
	}
	return nil
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
