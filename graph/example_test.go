package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"herald/graph"
)

type fixedToken string

func (t fixedToken) Token(context.Context) (string, error) { return string(t), nil }

// A users delta round, resumable: the caller stores the link after every
// page (the next link while the round runs, the delta link at its end) and
// starts over from "" when Graph no longer knows the delta state.
func ExampleClient_UsersDelta() {
	var base string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.RawQuery, "skiptoken"):
			fmt.Fprintf(w, `{"value":[{"id":"u2","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"%s/users/delta?$deltatoken=d1"}`, base)
		default:
			fmt.Fprintf(w, `{"value":[{"id":"u1","displayName":"Ann","accountEnabled":true}],"@odata.nextLink":"%s/users/delta?$skiptoken=s1"}`, base)
		}
	}))
	defer srv.Close()
	base = srv.URL + "/v1.0"
	client, err := graph.New(graph.Options{BaseURL: base, Tokens: fixedToken("t"), HTTPClient: srv.Client()})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	link := "" // loaded from the store: "" the first time
	for {
		page, err := graph.Retry(ctx, graph.RetryPolicy{}, func(ctx context.Context) (*graph.DeltaPage, error) {
			return client.UsersDelta(ctx, link, graph.DeltaQuery{})
		})
		if errors.Is(err, graph.ErrResyncRequired) {
			link = ""
			continue
		}
		if err != nil {
			panic(err)
		}
		for _, u := range page.Users {
			fmt.Println("upsert", u.ID, u.DisplayName)
		}
		for _, r := range page.Removed {
			fmt.Println("remove", r.ID, r.Reason)
		}
		if page.Done() {
			link = page.DeltaLink // store it: the next round starts here
			break
		}
		link = page.NextLink // store it: a restart resumes here
	}
	fmt.Println("next round from", strings.TrimPrefix(link, base))
	// Output:
	// upsert u1 Ann
	// remove u2 deleted
	// next round from /users/delta?$deltatoken=d1
}
