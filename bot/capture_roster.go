package bot

import (
	"context"
	"errors"
	"fmt"

	"herald"

	"herald/botframework"
)

// rosterRef names a conversation whose members the bot reads: a team
// (its id) or a group chat (its conversation id).
type rosterRef struct {
	id, tenantID, serviceURL string
}

func teamRoster(t herald.Team) rosterRef { return rosterRef{t.ID, t.TenantID, t.ServiceURL} }

func chatRoster(c herald.Conversation) rosterRef { return rosterRef{c.ID, c.TenantID, c.ServiceURL} }

// rosterClient returns a Connector client for the team's or chat's
// serviceUrl, or the tenant's when it has none.
func (b *Bot) rosterClient(ctx context.Context, r rosterRef) (*botframework.Client, error) {
	svc := r.serviceURL
	if svc == "" && r.tenantID != "" {
		if tn, err := b.store.TenantGet(ctx, r.tenantID); err == nil {
			svc = tn.ServiceURL
		}
	}
	if svc == "" {
		return nil, fmt.Errorf("conversation %s: no serviceUrl known: %w", r.id, errDrop)
	}
	return b.cfg.Connector.Client(svc), nil
}

// syncTeam fetches a team's details, channels and whole roster, records
// them (channels missing from the answer are marked deleted, the team's
// memberships become exactly the roster) and returns the member count. A
// team the bot was removed from is marked uninstalled.
func (b *Bot) syncTeam(ctx context.Context, teamID string) (int, error) {
	t, err := b.store.TeamGet(ctx, teamID)
	if errors.Is(err, herald.ErrNotFound) {
		return 0, fmt.Errorf("sync team %s: %w: %w", teamID, err, errDrop)
	}
	if err != nil {
		return 0, fmt.Errorf("sync team: %w", err)
	}
	if !t.Installed || t.Deleted {
		return 0, nil
	}
	cl, err := b.rosterClient(ctx, teamRoster(t))
	if err != nil {
		return 0, err
	}
	n, err := b.fetchTeam(ctx, cl, t)
	if err != nil {
		if botframework.Classify(err).Reason.Unreachable() {
			if serr := b.store.TeamSetInstalled(ctx, t.ID, false, b.now()); serr != nil {
				return 0, errors.Join(err, serr)
			}
		}
		return 0, fmt.Errorf("sync team %s: %w", t.ID, err)
	}
	return n, nil
}

func (b *Bot) fetchTeam(ctx context.Context, cl *botframework.Client, t herald.Team) (int, error) {
	details, err := cl.GetTeamDetails(ctx, t.ID)
	if err != nil {
		return 0, err
	}
	_, err = b.store.TeamUpsert(ctx, herald.TeamUpsertParams{ID: t.ID, Name: details.Name, AADGroupID: details.AADGroupID})
	if err != nil {
		return 0, err
	}
	channels, err := cl.GetTeamChannels(ctx, t.ID)
	if err != nil {
		return 0, err
	}
	if err := b.recordChannels(ctx, t.ID, channels); err != nil {
		return 0, err
	}
	n, err := b.fetchRoster(ctx, cl, teamRoster(t))
	if err != nil {
		return 0, err
	}
	if err := b.store.TeamSetRosterAt(ctx, t.ID, b.now()); err != nil {
		return 0, err
	}
	return n, nil
}

// fetchRoster pages through a team's or group chat's members
// (GET /v3/conversations/{id}/pagedmembers), records each of them with
// their email, UPN and Entra id, makes the memberships exactly them and
// returns how many there are.
func (b *Bot) fetchRoster(ctx context.Context, cl *botframework.Client, r rosterRef) (int, error) {
	var ids []string
	token := ""
	for {
		page, err := cl.GetPagedMembers(ctx, r.id, b.cfg.RosterPageSize, token)
		if err != nil {
			return 0, err
		}
		for _, m := range page.Members {
			if !herald.IsUserID(m.ID) {
				continue
			}
			_, err := b.store.UserUpsert(ctx, herald.UserUpsertParams{ID: m.ID, TenantID: firstNonEmpty(m.TenantID, r.tenantID),
				AADObjectID: m.EntraID(), UPN: m.UserPrincipalName, Email: m.Email, Name: m.Name, GivenName: m.GivenName,
				Surname: m.Surname, ServiceURL: r.serviceURL})
			if err != nil {
				return 0, err
			}
			ids = append(ids, m.ID)
		}
		if page.ContinuationToken == "" || len(page.Members) == 0 {
			break
		}
		token = page.ContinuationToken
	}
	if err := b.store.MembershipReplace(ctx, r.id, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// syncGroupChat fetches a group chat's members and records them, as
// syncTeam does a team's roster. A chat the bot was removed from is
// marked so.
func (b *Bot) syncGroupChat(ctx context.Context, c herald.Conversation) error {
	cl, err := b.rosterClient(ctx, chatRoster(c))
	if err != nil {
		return err
	}
	if _, err := b.fetchRoster(ctx, cl, chatRoster(c)); err != nil {
		if botframework.Classify(err).Reason.Unreachable() {
			if serr := b.setRemoved(ctx, c.ID, true); serr != nil {
				return errors.Join(err, serr)
			}
		}
		return fmt.Errorf("sync group chat %s: %w", c.ID, err)
	}
	return nil
}

// recordChannels upserts the team's channels and marks the ones Teams no
// longer lists as deleted.
func (b *Bot) recordChannels(ctx context.Context, teamID string, channels []botframework.ChannelInfo) error {
	seen := make(map[string]bool, len(channels))
	for _, c := range channels {
		if c.ID == "" {
			continue
		}
		seen[c.ID] = true
		ch := herald.Channel{ID: c.ID, TeamID: teamID, Name: c.Name, Type: c.Type}
		if ch.ID == teamID && ch.Name == "" {
			ch.Name = herald.GeneralName
		}
		if err := b.store.ChannelUpsert(ctx, ch); err != nil {
			return err
		}
	}
	have, err := b.store.ChannelList(ctx, teamID)
	if err != nil {
		return err
	}
	for _, c := range have {
		if !seen[c.ID] && !c.Deleted {
			c.Deleted = true
			if err := b.store.ChannelUpsert(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}
