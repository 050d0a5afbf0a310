package bot_test

import (
	"context"
	"errors"
	"testing"

	"herald"
	"herald/bot"
	"herald/botframework"
)

// fixedNotifier answers every SendWith with err (a Notifier fake: one
// method).
type fixedNotifier struct{ err error }

func (n fixedNotifier) SendWith(context.Context, herald.NotificationRequest, herald.TxFunc) (herald.Notification, error) {
	return herald.Notification{ID: "n_1"}, n.err
}

// TestEngineSenderOutcomes maps what the engine answers to what a bot job
// does next: stored or stored before under the key (done), refused as
// invalid (permanent), anything else (retried).
func TestEngineSenderOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		err           error
		wantErr       bool
		wantPermanent bool
	}{
		{"stored", nil, false, false},
		{"key used before with other content", herald.ErrIdempotencyMismatch, false, false},
		{"invalid", herald.ErrInvalid, true, true},
		{"store down", errors.New("database is locked"), true, false},
	}
	u := herald.User{ID: "29:a", TenantID: "t", ServiceURL: "https://smba.trafficmanager.net/teams/"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := bot.NewEngineSender(fixedNotifier{tt.err}, nil)
			_, err := s.SendToUser(context.Background(), u, &botframework.Activity{Text: "hi"}, bot.SendOptions{Key: "k"})
			if (err != nil) != tt.wantErr || errors.Is(err, herald.ErrPermanent) != tt.wantPermanent {
				t.Fatalf("err = %v, want error %v permanent %v", err, tt.wantErr, tt.wantPermanent)
			}
		})
	}
}
