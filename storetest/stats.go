package storetest

import (
	"context"
	"errors"
	"testing"

	"herald"

	"github.com/google/go-cmp/cmp"
)

// RunStats runs the StatsStore part of the suite.
func RunStats(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"ping", testPing},
		{"delivery state counts", testDeliveryStateCounts},
		{"user search", testUserSearch},
		{"conversation list", testConversationList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func testPing(t *testing.T, s herald.Store) {
	must(t, s.Ping(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping with a cancelled context succeeded")
	}
}

func testDeliveryStateCounts(t *testing.T, s herald.Store) {
	ctx := context.Background()
	got, err := s.DeliveryStateCounts(ctx)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("empty store counts = %v, want none", got)
	}
	pending := func(r string) herald.Delivery {
		return herald.Delivery{Recipient: r, Kind: herald.KindChannel, TenantID: "t1", State: herald.DeliveryPending}
	}
	skipped := herald.Delivery{Recipient: "user:nobody", Kind: herald.KindPersonal, State: herald.DeliverySkipped, Reason: herald.ReasonUnresolved}
	a := newNotification(t, s, "n_stats_a", nil)
	_, err = s.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: a.ID, Now: t0,
		Deliveries: []herald.Delivery{pending("channel:1"), pending("channel:2"), skipped}})
	must(t, err)
	b := newNotification(t, s, "n_stats_b", nil)
	_, err = s.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: b.ID, Now: t0,
		Deliveries: []herald.Delivery{pending("channel:1"), pending("channel:3"), skipped}})
	must(t, err)
	_, err = s.DeliveryCancel(ctx, b.ID, t0)
	must(t, err)
	got, err = s.DeliveryStateCounts(ctx)
	must(t, err)
	want := map[herald.DeliveryState]int64{herald.DeliveryPending: 2, herald.DeliverySkipped: 2, herald.DeliveryCancelled: 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("counts (-want +got):\n%s", diff)
	}
}

func testUserSearch(t *testing.T, s herald.Store) {
	ctx := context.Background()
	for _, p := range []herald.UserUpsertParams{
		{ID: "29:a", TenantID: "t1", Name: "Alice Smith", Email: "alice@contoso.com", UPN: "alice@contoso.onmicrosoft.com", AADObjectID: "aad-0001"},
		{ID: "29:b", TenantID: "t1", Name: "Bob Jones", Email: "bob@contoso.com", UPN: "bob@contoso.com", AADObjectID: "aad-0002"},
		{ID: "29:c", TenantID: "t2", Name: "Carol Smithers", Email: "carol@fabrikam.com", AADObjectID: "aad-0003"},
		{ID: "29:d_x", TenantID: "t2", Name: "100% Dan", Email: "dan@fabrikam.com"},
	} {
		_, err := s.UserUpsert(ctx, p)
		must(t, err)
	}
	must(t, s.MembershipAdd(ctx, "19:team", "29:b"))
	must(t, s.MembershipAdd(ctx, "19:team", "29:c"))
	tests := []struct {
		name string
		p    herald.UserSearchParams
		want []string
	}{
		{"everyone", herald.UserSearchParams{}, []string{"29:a", "29:b", "29:c", "29:d_x"}},
		{"name, any case", herald.UserSearchParams{Query: "SMITH"}, []string{"29:a", "29:c"}},
		{"email", herald.UserSearchParams{Query: "bob@contoso"}, []string{"29:b"}},
		{"upn", herald.UserSearchParams{Query: "onmicrosoft"}, []string{"29:a"}},
		{"teams id", herald.UserSearchParams{Query: "29:c"}, []string{"29:c"}},
		{"entra object id", herald.UserSearchParams{Query: "AAD-0002"}, []string{"29:b"}},
		{"percent is literal", herald.UserSearchParams{Query: "100%"}, []string{"29:d_x"}},
		{"underscore is literal", herald.UserSearchParams{Query: "d_"}, []string{"29:d_x"}},
		{"no match", herald.UserSearchParams{Query: "zed"}, []string{}},
		{"tenant", herald.UserSearchParams{Query: "smith", TenantID: "t2"}, []string{"29:c"}},
		{"team", herald.UserSearchParams{TeamID: "19:team"}, []string{"29:b", "29:c"}},
		{"team and query", herald.UserSearchParams{TeamID: "19:team", Query: "contoso"}, []string{"29:b"}},
		{"page", herald.UserSearchParams{Query: "@", After: "29:a", Limit: 2}, []string{"29:b", "29:c"}},
	}
	for _, tt := range tests {
		got, err := s.UserSearch(ctx, tt.p)
		must(t, err)
		if diff := cmp.Diff(tt.want, ids(got, userID)); diff != "" {
			t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
		}
	}
	got, err := s.UserSearch(ctx, herald.UserSearchParams{Query: "alice"})
	must(t, err)
	if len(got) != 1 || got[0].Email != "alice@contoso.com" || got[0].AADObjectID != "aad-0001" || got[0].CreatedAt.IsZero() {
		t.Fatalf("search result = %+v", got)
	}
}

func testConversationList(t *testing.T, s herald.Store) {
	ctx := context.Background()
	for _, c := range []herald.Conversation{
		{ID: "a:1", Type: "personal", TenantID: "t1", ServiceURL: "https://s/", UserID: "29:a", BotID: "28:bot"},
		{ID: "19:c@thread.tacv2", Type: "channel", TenantID: "t1", TeamID: "19:c@thread.tacv2", ChannelID: "19:c@thread.tacv2"},
		{ID: "19:g@thread.v2", Type: "groupChat", TenantID: "t2"},
		{ID: "a:2", Type: "personal", TenantID: "t2", UserID: "29:b"},
	} {
		must(t, s.ConversationUpsert(ctx, c))
	}
	convID := func(c herald.Conversation) string { return c.ID }
	tests := []struct {
		name string
		p    herald.ConversationListParams
		want []string
	}{
		{"all", herald.ConversationListParams{}, []string{"19:c@thread.tacv2", "19:g@thread.v2", "a:1", "a:2"}},
		{"tenant", herald.ConversationListParams{TenantID: "t1"}, []string{"19:c@thread.tacv2", "a:1"}},
		{"type", herald.ConversationListParams{Type: "personal"}, []string{"a:1", "a:2"}},
		{"tenant and type", herald.ConversationListParams{TenantID: "t2", Type: "personal"}, []string{"a:2"}},
		{"page", herald.ConversationListParams{After: "19:c@thread.tacv2", Limit: 2}, []string{"19:g@thread.v2", "a:1"}},
		{"none", herald.ConversationListParams{Type: "meeting"}, []string{}},
	}
	for _, tt := range tests {
		got, err := s.ConversationList(ctx, tt.p)
		must(t, err)
		if diff := cmp.Diff(tt.want, ids(got, convID)); diff != "" {
			t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
		}
	}
	got, err := s.ConversationList(ctx, herald.ConversationListParams{TenantID: "t1", Type: "personal"})
	must(t, err)
	if len(got) != 1 || got[0].UserID != "29:a" || got[0].BotID != "28:bot" || got[0].ServiceURL != "https://s/" || got[0].UpdatedAt.IsZero() {
		t.Fatalf("conversation = %+v", got)
	}
	if _, err := s.ConversationGet(ctx, "a:none"); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("ConversationGet(missing) = %v, want ErrNotFound", err)
	}
}
