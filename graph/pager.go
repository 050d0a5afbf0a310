package graph

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Pager reads a collection one page at a time, following @odata.nextLink
// verbatim (never to another host: see [ErrUntrustedLink]). It is not safe
// for concurrent use. A failed Next leaves the pager where it was, so the
// same page can be asked again, for example under [Retry]:
//
//	for p.More() {
//		users, err := graph.Retry(ctx, policy, p.Next)
//		…
//	}
type Pager[T any] struct {
	c      *Client
	first  call
	next   string // the nextLink to follow; "" before the first page
	done   bool
	failed error // refused before sending: every Next returns it
}

func newPager[T any](c *Client, first call) *Pager[T] {
	return &Pager[T]{c: c, first: first}
}

// failedPager returns a pager whose first Next fails with err.
func failedPager[T any](c *Client, op string, err error) *Pager[T] {
	return &Pager[T]{c: c, first: call{op: op}, failed: err}
}

// More reports whether Next has another page to read.
func (p *Pager[T]) More() bool { return !p.done }

// NextLink returns the @odata.nextLink the next page comes from: "" before
// the first page and after the last.
func (p *Pager[T]) NextLink() string { return p.next }

// Next reads the next page. After the last page it returns nil and no
// error, and More is false.
func (p *Pager[T]) Next(ctx context.Context) ([]T, error) {
	if p.done {
		return nil, nil
	}
	if p.failed != nil {
		return nil, p.failed
	}
	cl := p.first
	if p.next != "" {
		cl = call{op: p.first.op, method: p.first.method, link: p.next, header: p.first.header, required: p.first.required}
	}
	var page struct {
		Value    []T    `json:"value"`
		NextLink string `json:"@odata.nextLink"`
	}
	if err := p.c.get(ctx, cl, &page); err != nil {
		return nil, err
	}
	if page.NextLink != "" && page.NextLink == p.next {
		return nil, fmt.Errorf("%s: %w", cl.op, &responseError{err: errors.New("nextLink repeats the page just read")})
	}
	p.next = page.NextLink
	p.done = page.NextLink == ""
	return page.Value, nil
}

// Items iterates over the items of every remaining page, reading each
// page under policy. On an error it yields the zero T and the error, and
// stops.
func (p *Pager[T]) Items(ctx context.Context, policy RetryPolicy) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for p.More() {
			items, err := Retry(ctx, policy, p.Next)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

// All reads every remaining page under policy and returns the items.
func (p *Pager[T]) All(ctx context.Context, policy RetryPolicy) ([]T, error) {
	var out []T
	for it, err := range p.Items(ctx, policy) {
		if err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, nil
}
