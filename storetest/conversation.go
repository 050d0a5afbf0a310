package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"herald"
)

func testConversation(t *testing.T, s herald.Store) {
	ctx := context.Background()
	must(t, s.ConversationUpsert(ctx, herald.Conversation{ID: "a:1", Type: "personal", TenantID: "t1",
		ServiceURL: "https://old/", UserID: "29:a", BotID: "28:bot"}))
	must(t, s.ConversationUpsert(ctx, herald.Conversation{ID: "a:1", ServiceURL: "https://new/"}))
	got, err := s.ConversationGet(ctx, "a:1")
	must(t, err)
	want := herald.Conversation{ID: "a:1", Type: "personal", TenantID: "t1", ServiceURL: "https://new/",
		UserID: "29:a", BotID: "28:bot"}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(herald.Conversation{}, "UpdatedAt")); diff != "" {
		t.Fatalf("conversation (-want +got):\n%s", diff)
	}
	if got.UpdatedAt.IsZero() {
		t.Fatal("UpdatedAt not set")
	}
	testConversationRemoved(t, s)
}

// testConversationRemoved: a group chat's name merges like the other
// fields, and Removed changes only through ConversationSetRemoved.
func testConversationRemoved(t *testing.T, s herald.Store) {
	ctx := context.Background()
	const id = "19:chat@thread.v2"
	must(t, s.ConversationUpsert(ctx, herald.Conversation{ID: id, Type: "groupChat", TenantID: "t1", Name: "Launch"}))
	must(t, s.ConversationSetRemoved(ctx, id, true))
	must(t, s.ConversationUpsert(ctx, herald.Conversation{ID: id, ServiceURL: "https://x/"}))
	got, err := s.ConversationGet(ctx, id)
	must(t, err)
	if !got.Removed || got.Name != "Launch" || got.ServiceURL != "https://x/" {
		t.Fatalf("after removal and upsert: %+v", got)
	}
	must(t, s.ConversationSetRemoved(ctx, id, false))
	if got, err = s.ConversationGet(ctx, id); err != nil || got.Removed {
		t.Fatalf("after re-add: %+v, %v", got, err)
	}
	if err := s.ConversationSetRemoved(ctx, "19:none@thread.v2", true); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("missing conversation: %v, want ErrNotFound", err)
	}
}
