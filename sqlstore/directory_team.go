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

const teamCols = `id, tenant_id, aad_group_id, name, general_channel_id, service_url, installed,
	archived, deleted, installed_at, roster_at, created_at, updated_at`

func scanTeam(r rowScanner) (herald.Team, error) {
	var t herald.Team
	var installedAt, rosterAt, created, updated int64
	err := r.Scan(&t.ID, &t.TenantID, &t.AADGroupID, &t.Name, &t.GeneralChannelID, &t.ServiceURL,
		&t.Installed, &t.Archived, &t.Deleted, &installedAt, &rosterAt, &created, &updated)
	if err != nil {
		return herald.Team{}, err
	}
	t.InstalledAt = fromMicros(installedAt)
	t.RosterAt = fromMicros(rosterAt)
	t.CreatedAt = fromMicros(created)
	t.UpdatedAt = fromMicros(updated)
	return t, nil
}

var teamUpsertSQL = `INSERT INTO teams (id, tenant_id, aad_group_id, name, general_channel_id, service_url,
	archived, deleted, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, false), COALESCE($8, false), $9, $9)
	ON CONFLICT (id) DO UPDATE SET
	` + mergeSet("teams", "tenant_id", "aad_group_id", "name", "general_channel_id", "service_url") + `,
	archived = COALESCE($7, teams.archived),
	deleted = COALESCE($8, teams.deleted),
	updated_at = excluded.updated_at
	RETURNING ` + teamCols

// TeamUpsert implements herald.DirectoryStore.
func (s *Store) TeamUpsert(ctx context.Context, p herald.TeamUpsertParams) (herald.Team, error) {
	if p.ID == "" {
		return herald.Team{}, errors.New("team upsert: empty id")
	}
	t, err := scanTeam(s.queryRow(ctx, teamUpsertSQL, p.ID, p.TenantID, p.AADGroupID, p.Name,
		p.GeneralChannelID, p.ServiceURL, nullBool(p.Archived), nullBool(p.Deleted), toMicros(s.now())))
	if err != nil {
		return herald.Team{}, fmt.Errorf("team upsert: %w", s.mapErr(err))
	}
	return t, nil
}

// nullBool turns an optional flag into a query argument (NULL when nil).
func nullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

// TeamGet implements herald.DirectoryStore.
func (s *Store) TeamGet(ctx context.Context, id string) (herald.Team, error) {
	t, err := scanTeam(s.queryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE id = $1`, id))
	if err != nil {
		return herald.Team{}, fmt.Errorf("team get: %w", s.mapErr(err))
	}
	return t, nil
}

// TeamFind implements herald.DirectoryStore: an id match wins, then an
// Entra group id match, then a name match; two teams with the matching
// name are ErrConflict.
func (s *Store) TeamFind(ctx context.Context, identifier string) (herald.Team, error) {
	identifier = strings.TrimSpace(identifier)
	rows, err := s.query(ctx, `SELECT `+teamCols+`,
	CASE WHEN id = $1 THEN 0 WHEN lower(aad_group_id) = lower($1) THEN 1 ELSE 2 END AS rank
	FROM teams WHERE id = $1 OR lower(aad_group_id) = lower($1) OR lower(name) = lower($1)
	ORDER BY rank, id LIMIT 2`, identifier)
	if err != nil {
		return herald.Team{}, fmt.Errorf("team find: %w", s.mapErr(err))
	}
	type ranked struct {
		team herald.Team
		rank int
	}
	found, err := collect(rows, func(r rowScanner) (ranked, error) {
		var x ranked
		var installedAt, rosterAt, created, updated int64
		t := &x.team
		err := r.Scan(&t.ID, &t.TenantID, &t.AADGroupID, &t.Name, &t.GeneralChannelID, &t.ServiceURL,
			&t.Installed, &t.Archived, &t.Deleted, &installedAt, &rosterAt, &created, &updated, &x.rank)
		t.InstalledAt, t.RosterAt = fromMicros(installedAt), fromMicros(rosterAt)
		t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
		return x, err
	})
	if err != nil {
		return herald.Team{}, fmt.Errorf("team find: %w", s.mapErr(err))
	}
	switch {
	case len(found) == 0:
		return herald.Team{}, fmt.Errorf("team find %q: %w", identifier, herald.ErrNotFound)
	case len(found) == 2 && found[0].rank == found[1].rank:
		return herald.Team{}, fmt.Errorf("team find %q: matches several teams: %w", identifier, herald.ErrConflict)
	}
	return found[0].team, nil
}

// TeamList implements herald.DirectoryStore.
func (s *Store) TeamList(ctx context.Context, p herald.TeamListParams) ([]herald.Team, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT ` + teamCols + ` FROM teams WHERE ($1 = '' OR tenant_id = $1) AND id > $2`
	args := []any{p.TenantID, p.After, limit}
	if p.InstalledOnly {
		q += ` AND installed = true AND deleted = false`
	}
	if !p.RosterBefore.IsZero() {
		q += ` AND roster_at < $4`
		args = append(args, toMicros(p.RosterBefore))
	}
	q += ` ORDER BY id LIMIT $3`
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("team list: %w", s.mapErr(err))
	}
	teams, err := collect(rows, scanTeam)
	if err != nil {
		return nil, fmt.Errorf("team list: %w", s.mapErr(err))
	}
	return teams, nil
}

// TeamSetInstalled implements herald.DirectoryStore. Installing also
// clears Deleted (Teams only lets a bot into a live team) and, in the same
// transaction, the Uninstalled flag of the team's known members.
func (s *Store) TeamSetInstalled(ctx context.Context, teamID string, installed bool, at time.Time) error {
	if !installed {
		return s.execOne(ctx, "team set installed",
			`UPDATE teams SET installed = false, updated_at = $2 WHERE id = $1`, teamID, toMicros(s.now()))
	}
	now := toMicros(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `UPDATE teams SET installed = true, deleted = false, installed_at = $2, updated_at = $3
		WHERE id = $1`, teamID, toMicros(at), now)
		if err != nil {
			return s.mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(herald.ErrNotFound, err)
		}
		_, err = s.txExec(ctx, tx, `UPDATE users SET uninstalled = false, updated_at = $2
		WHERE uninstalled = true AND id IN (SELECT user_id FROM memberships WHERE team_id = $1)`, teamID, now)
		return s.mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("team set installed: %w", err)
	}
	return nil
}

// TeamSetRosterAt implements herald.DirectoryStore.
func (s *Store) TeamSetRosterAt(ctx context.Context, teamID string, at time.Time) error {
	return s.execOne(ctx, "team set roster time",
		`UPDATE teams SET roster_at = $2 WHERE id = $1`, teamID, toMicros(at))
}

// ChannelUpsert implements herald.DirectoryStore.
func (s *Store) ChannelUpsert(ctx context.Context, c herald.Channel) error {
	if c.ID == "" || c.TeamID == "" {
		return errors.New("channel upsert: empty id or team id")
	}
	now := toMicros(s.now())
	_, err := s.exec(ctx, `INSERT INTO channels (id, team_id, name, type, deleted, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $6)
	ON CONFLICT (id) DO UPDATE SET
	`+mergeSet("channels", "name", "type")+`,
	team_id = excluded.team_id,
	deleted = excluded.deleted,
	updated_at = excluded.updated_at`, c.ID, c.TeamID, c.Name, c.Type, c.Deleted, now)
	if err != nil {
		return fmt.Errorf("channel upsert: %w", s.mapErr(err))
	}
	return nil
}

const channelCols = `id, team_id, name, type, deleted`

func scanChannel(r rowScanner) (herald.Channel, error) {
	var c herald.Channel
	err := r.Scan(&c.ID, &c.TeamID, &c.Name, &c.Type, &c.Deleted)
	return c, err
}

// ChannelList implements herald.DirectoryStore; the General channel
// comes first.
func (s *Store) ChannelList(ctx context.Context, teamID string) ([]herald.Channel, error) {
	rows, err := s.query(ctx, `SELECT `+channelCols+` FROM channels WHERE team_id = $1
	ORDER BY CASE WHEN id = team_id THEN 0 ELSE 1 END, lower(name), id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("channel list: %w", s.mapErr(err))
	}
	chans, err := collect(rows, scanChannel)
	if err != nil {
		return nil, fmt.Errorf("channel list: %w", s.mapErr(err))
	}
	return chans, nil
}

// ChannelFind implements herald.DirectoryStore.
func (s *Store) ChannelFind(ctx context.Context, teamID, identifier string) (herald.Channel, error) {
	identifier = strings.TrimSpace(identifier)
	c, err := scanChannel(s.queryRow(ctx, `SELECT `+channelCols+` FROM channels
	WHERE team_id = $1 AND (id = $2 OR lower(name) = lower($2) OR (lower($2) = 'general' AND id = $1))
	ORDER BY CASE WHEN id = $2 THEN 0 WHEN id = $1 THEN 1 ELSE 2 END, deleted, id LIMIT 1`, teamID, identifier))
	if err != nil {
		return herald.Channel{}, fmt.Errorf("channel find %q: %w", identifier, s.mapErr(err))
	}
	return c, nil
}

// MembershipAdd implements herald.DirectoryStore.
// A new member of a team that has the bot is reachable through it: their
// Uninstalled flag is cleared, as a team install clears its members'.
func (s *Store) MembershipAdd(ctx context.Context, teamID, userID string) error {
	now := toMicros(s.now())
	res, err := s.exec(ctx, `INSERT INTO memberships (team_id, user_id, created_at) VALUES ($1, $2, $3)
	ON CONFLICT (team_id, user_id) DO NOTHING`, teamID, userID, now)
	if err != nil {
		return fmt.Errorf("membership add: %w", s.mapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil // a member already: nothing new to learn
	}
	_, err = s.exec(ctx, `UPDATE users SET uninstalled = false, updated_at = $3
	WHERE id = $2 AND uninstalled = true
	AND EXISTS (SELECT 1 FROM teams WHERE teams.id = $1 AND teams.installed = true AND teams.deleted = false)`,
		teamID, userID, now)
	if err != nil {
		return fmt.Errorf("membership add: %w", s.mapErr(err))
	}
	return nil
}

// MembershipRemove implements herald.DirectoryStore.
func (s *Store) MembershipRemove(ctx context.Context, teamID, userID string) error {
	_, err := s.exec(ctx, `DELETE FROM memberships WHERE team_id = $1 AND user_id = $2`, teamID, userID)
	if err != nil {
		return fmt.Errorf("membership remove: %w", s.mapErr(err))
	}
	return nil
}

// MembershipReplace implements herald.DirectoryStore in one transaction,
// touching only the rows that change.
func (s *Store) MembershipReplace(ctx context.Context, teamID string, userIDs []string) error {
	want := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		want[id] = true
	}
	now := toMicros(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT user_id FROM memberships WHERE team_id = $1`, teamID)
		if err != nil {
			return err
		}
		have, err := collect(rows, func(r rowScanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, id := range have {
			if want[id] {
				delete(want, id)
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE team_id = $1 AND user_id = $2`, teamID, id); err != nil {
				return err
			}
		}
		if len(want) == 0 {
			return nil
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO memberships (team_id, user_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (team_id, user_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, id := range userIDs {
			if !want[id] {
				continue
			}
			delete(want, id)
			if _, err := ins.ExecContext(ctx, teamID, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("membership replace: %w", s.mapErr(err))
	}
	return nil
}

// ConversationUpsert implements herald.DirectoryStore.
func (s *Store) ConversationUpsert(ctx context.Context, c herald.Conversation) error {
	if c.ID == "" {
		return errors.New("conversation upsert: empty id")
	}
	_, err := s.exec(ctx, `INSERT INTO conversations (id, type, tenant_id, service_url, team_id,
	channel_id, user_id, bot_id, name, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
	ON CONFLICT (id) DO UPDATE SET
	`+mergeSet("conversations", "type", "tenant_id", "service_url", "team_id", "channel_id", "user_id", "bot_id", "name")+`,
	updated_at = excluded.updated_at`,
		c.ID, c.Type, c.TenantID, c.ServiceURL, c.TeamID, c.ChannelID, c.UserID, c.BotID, c.Name, toMicros(s.now()))
	if err != nil {
		return fmt.Errorf("conversation upsert: %w", s.mapErr(err))
	}
	return nil
}

// ConversationGet implements herald.DirectoryStore.
func (s *Store) ConversationGet(ctx context.Context, id string) (herald.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, id))
	if err != nil {
		return herald.Conversation{}, fmt.Errorf("conversation get: %w", s.mapErr(err))
	}
	return c, nil
}

// ConversationSetRemoved implements herald.DirectoryStore.
func (s *Store) ConversationSetRemoved(ctx context.Context, id string, removed bool) error {
	return s.execOne(ctx, "conversation set removed",
		`UPDATE conversations SET removed = $2, updated_at = $3 WHERE id = $1`, id, removed, toMicros(s.now()))
}

// conversationColumns are the columns scanConversation reads, in order.
const conversationColumns = `id, type, tenant_id, service_url, team_id, channel_id, user_id, bot_id, name, removed, updated_at`

// scanConversation reads one row of conversationColumns.
func scanConversation(r rowScanner) (herald.Conversation, error) {
	var c herald.Conversation
	var updated int64
	if err := r.Scan(&c.ID, &c.Type, &c.TenantID, &c.ServiceURL, &c.TeamID, &c.ChannelID, &c.UserID, &c.BotID,
		&c.Name, &c.Removed, &updated); err != nil {
		return herald.Conversation{}, err
	}
	c.UpdatedAt = fromMicros(updated)
	return c, nil
}
