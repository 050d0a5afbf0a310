package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
	"herald/sqlstore"
)

// benchWorld is an emulator on a loopback listener and a connector to it.
type benchWorld struct {
	emu  *emulator.Emulator
	srv  *http.Server
	base string
	conn *botframework.Connector
	hc   *http.Client
}

func newBenchWorld(limits emulator.Limits, concurrency int) (*benchWorld, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	log := -1 // no request log: it costs time and memory at this scale
	if !limits.Disabled {
		log = 0 // the default: the pacing part reads the requests' times
	}
	w := &benchWorld{emu: emulator.New(emulator.Config{Limits: limits, RequestLog: log})}
	w.base = "http://" + ln.Addr().String()
	w.emu.SetBaseURL(w.base)
	w.srv = newHTTPServer(w.emu, defaultTimeouts())
	go func() { _ = w.srv.Serve(ln) }()
	w.hc = benchHTTPClient(concurrency)
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: w.emu.AppID(), AppSecret: w.emu.AppSecret(), Authority: w.base, HTTPClient: w.hc})
	if err != nil {
		w.close()
		return nil, err
	}
	w.conn = botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: w.hc, Tokens: tokens, TrustedHosts: []string{ln.Addr().String()}})
	return w, nil
}

// benchHTTPClient keeps enough idle connections for the concurrency.
func benchHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency * 2
	t.MaxIdleConnsPerHost = concurrency * 2
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

func (w *benchWorld) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = w.srv.Shutdown(ctx)
	w.emu.Close()
}

// benchUser is a user set up in the emulator and the directory.
type benchUser struct {
	id, tenant, conv, name string
}

// addUsers creates tenants × perTenant users in the emulator with the bot
// installed, returning them with their personal conversations.
func (w *benchWorld) addUsers(ctx context.Context, prefix string, tenants, perTenant int) ([]string, []benchUser, error) {
	var tids []string
	var users []benchUser
	for t := range tenants {
		tn, err := w.emu.AddTenant(emulator.TenantSpec{Name: fmt.Sprintf("%sTenant%d", prefix, t)})
		if err != nil {
			return nil, nil, err
		}
		tids = append(tids, tn.ID)
		for i := range perTenant {
			u, err := w.emu.AddUser(emulator.UserSpec{TenantID: tn.ID, Name: fmt.Sprintf("User%d T%d", i, t)})
			if err != nil {
				return nil, nil, err
			}
			d, err := w.emu.InstallPersonal(ctx, u.ID)
			if err != nil {
				return nil, nil, err
			}
			users = append(users, benchUser{id: u.ID, tenant: tn.ID, conv: d.ConversationID, name: u.Name})
		}
	}
	return tids, users, nil
}

// openBenchStore opens a fresh store: a new SQLite file, or a new schema.
func openBenchStore(ctx context.Context, dsn string) (*sqlstore.Store, func(), error) {
	if strings.HasPrefix(dsn, "sqlite:") {
		path := strings.TrimPrefix(dsn, "sqlite:")
		for _, suffix := range []string{"", "-wal", "-shm", ".lock"} {
			_ = os.Remove(path + suffix)
		}
		st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			return nil, nil, err
		}
		return st, func() {
			st.Close()
			for _, suffix := range []string{"", "-wal", "-shm", ".lock"} {
				_ = os.Remove(path + suffix)
			}
		}, nil
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "herald_bench_" + hex.EncodeToString(b)
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Schema: schema, MaxConns: 16})
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		_, _ = st.DB().ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		st.Close()
	}, nil
}

// fillDirectory records the tenants and users in the store, in parallel
// (PostgreSQL gains from it; SQLite serialises anyway).
func fillDirectory(ctx context.Context, st *sqlstore.Store, serviceURL string, tenants []string, users []benchUser) error {
	for _, t := range tenants {
		if err := st.TenantUpsert(ctx, herald.Tenant{ID: t, ServiceURL: serviceURL}); err != nil {
			return err
		}
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) {
					return
				}
				u := users[i]
				given, _, _ := strings.Cut(u.name, " ")
				_, err := st.UserUpsert(ctx, herald.UserUpsertParams{ID: u.id, TenantID: u.tenant, Name: u.name, GivenName: given, ConversationID: u.conv})
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// benchContent is the message every run sends.
var benchContent = herald.Content{Text: "Scheduled maintenance tonight at 22:00 UTC. Save your work."}

func newBenchEngine(st *sqlstore.Store, w *benchWorld, limits engine.Limits, concurrency int, log *slog.Logger) (*engine.Engine, error) {
	return engine.New(engine.Config{
		Store: st, Queue: st.RiverDriver(), Connector: w.conn,
		Bot:               botframework.ChannelAccount{ID: w.emu.BotID(), Name: "Herald"},
		DefaultServiceURL: w.emu.ServiceURL(), Limits: limits, Concurrency: concurrency,
		NodeID: "bench", Logger: log,
	})
}

// sendAndWait sends req and waits for the notification to finish.
func sendAndWait(ctx context.Context, eng *engine.Engine, req herald.NotificationRequest) (herald.Notification, time.Duration, error) {
	start := time.Now()
	n, err := eng.Send(ctx, req)
	if err != nil {
		return n, 0, err
	}
	n, err = eng.Wait(ctx, n.ID)
	return n, time.Since(start), err
}
