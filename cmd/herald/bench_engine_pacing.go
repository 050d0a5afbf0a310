package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"herald"
	"herald/emulator"
	"herald/engine"
)

// benchPacing measures part (b) with Teams' limits on.
func benchPacing(ctx context.Context, f engineBenchFlags, progress io.Writer) (*pacingResult, error) {
	w, err := newBenchWorld(emulator.Limits{}, f.concurrency)
	if err != nil {
		return nil, err
	}
	defer w.close()
	tenants, users, err := w.addUsers(ctx, "", 1, f.pacingRecipients)
	if err != nil {
		return nil, err
	}
	// The channel lives in a tenant of its own, so the tenant run's last
	// second of calls does not delay the first posts.
	chTenants, chUsers, err := w.addUsers(ctx, "Channel", 1, 1)
	if err != nil {
		return nil, err
	}
	team, err := w.emu.AddTeam(emulator.TeamSpec{TenantID: chTenants[0], Name: "Announcements", Members: []string{chUsers[0].id}})
	if err != nil {
		return nil, err
	}
	if _, err := w.emu.InstallTeam(ctx, emulator.InstallTeamSpec{TeamID: team.ID}); err != nil {
		return nil, err
	}
	st, cleanup, err := openBenchStore(ctx, "sqlite:"+filepath.Join(os.TempDir(), fmt.Sprintf("herald-bench-pacing-%d.db", os.Getpid())))
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := fillDirectory(ctx, st, w.emu.ServiceURL(), tenants, users); err != nil {
		return nil, err
	}
	if err := fillDirectory(ctx, st, w.emu.ServiceURL(), chTenants, chUsers); err != nil {
		return nil, err
	}
	if _, err := st.TeamUpsert(ctx, herald.TeamUpsertParams{ID: team.ID, TenantID: chTenants[0], Name: team.Name, GeneralChannelID: team.ID, ServiceURL: w.emu.ServiceURL()}); err != nil {
		return nil, err
	}
	eng, err := newBenchEngine(st, w, engine.Limits{}, f.concurrency, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer eng.Stop(context.WithoutCancel(ctx))
	before := w.emu.Counters().Throttled

	n, took, err := sendAndWait(ctx, eng, herald.NotificationRequest{Audience: herald.Audience{Tenants: tenants}, Content: benchContent})
	if err != nil {
		return nil, err
	}
	if n.Counts.Delivered != len(users) {
		return nil, fmt.Errorf("tenant run delivered %d of %d (%+v)", n.Counts.Delivered, len(users), n.Counts)
	}
	r := &pacingResult{TenantS: took.Seconds(), TenantMinS: float64(len(users)) / engine.DefaultTenantRPS, TenantRecipients: len(users), ChannelPosts: f.channelPosts}
	fmt.Fprintf(progress, "pacing: tenant %.1f s (minimum %.1f s)\n", r.TenantS, r.TenantMinS)

	channel, err := postToChannel(ctx, eng, team.ID, f.channelPosts)
	if err != nil {
		return nil, err
	}
	r.ChannelS = channel.Seconds()
	r.ChannelMinS = engine.MinDuration(f.channelPosts, engine.TeamsConversationWindows()).Seconds()
	after := w.emu.Counters().Throttled
	r.Throttled = (after.Conversation + after.Tenant + after.Storm) - (before.Conversation + before.Tenant + before.Storm)
	fmt.Fprintf(progress, "pacing: channel %.1f s (minimum %.1f s), %d throttled\n", r.ChannelS, r.ChannelMinS, r.Throttled)
	return r, nil
}

// postToChannel sends posts notifications to the General channel of a team
// at once, waits for every one, and returns how long that took.
func postToChannel(ctx context.Context, eng *engine.Engine, teamID string, posts int) (time.Duration, error) {
	start := time.Now()
	ids := make([]string, posts)
	for i := range ids {
		n, err := eng.Send(ctx, herald.NotificationRequest{
			Audience: herald.Audience{Channels: []herald.ChannelTarget{{Team: teamID}}},
			Content:  herald.Content{Text: fmt.Sprintf("Update %d", i+1)},
		})
		if err != nil {
			return 0, err
		}
		ids[i] = n.ID
	}
	for _, id := range ids {
		n, err := eng.Wait(ctx, id)
		if err != nil {
			return 0, err
		}
		if n.Counts.Delivered != 1 {
			return 0, fmt.Errorf("channel post %s: %+v", id, n.Counts)
		}
	}
	return time.Since(start), nil
}
