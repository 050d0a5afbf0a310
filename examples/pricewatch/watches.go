package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// watches keeps who watches which product, and the last price of each, in
// two tables of their own in Herald's SQLite file.
type watches struct{ db *sql.DB }

const watchSchema = `
CREATE TABLE IF NOT EXISTS pricewatch_watch (
	user_id    TEXT NOT NULL,
	product    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (product, user_id)
);
CREATE TABLE IF NOT EXISTS pricewatch_price (
	product    TEXT PRIMARY KEY,
	cents      INTEGER NOT NULL,
	updated_at TEXT NOT NULL
);`

func openWatches(ctx context.Context, db *sql.DB) (*watches, error) {
	if _, err := db.ExecContext(ctx, watchSchema); err != nil {
		return nil, fmt.Errorf("create watch tables: %w", err)
	}
	return &watches{db: db}, nil
}

// add records that user watches product (again: no change).
func (w *watches) add(ctx context.Context, user, product string, now time.Time) error {
	_, err := w.db.ExecContext(ctx, `INSERT INTO pricewatch_watch (user_id, product, created_at) VALUES (?, ?, ?)
		ON CONFLICT (product, user_id) DO NOTHING`, user, product, now.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("add watch: %w", err)
	}
	return nil
}

// remove deletes a watch, reporting whether there was one.
func (w *watches) remove(ctx context.Context, user, product string) (bool, error) {
	res, err := w.db.ExecContext(ctx, `DELETE FROM pricewatch_watch WHERE user_id = ? AND product = ?`, user, product)
	if err != nil {
		return false, fmt.Errorf("remove watch: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// watchers lists the users watching product.
func (w *watches) watchers(ctx context.Context, product string) ([]string, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT user_id FROM pricewatch_watch WHERE product = ? ORDER BY created_at, user_id`, product)
	if err != nil {
		return nil, fmt.Errorf("list watchers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list watchers: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// setPrice records a price and returns the previous one (had is false
// for a product seen for the first time).
func (w *watches) setPrice(ctx context.Context, product string, cents int64, now time.Time) (old int64, had bool, err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("set price: %w", err)
	}
	defer tx.Rollback()
	switch err := tx.QueryRowContext(ctx, `SELECT cents FROM pricewatch_price WHERE product = ?`, product).Scan(&old); {
	case err == nil:
		had = true
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, fmt.Errorf("set price: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pricewatch_price (product, cents, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (product) DO UPDATE SET cents = excluded.cents, updated_at = excluded.updated_at`,
		product, cents, now.UTC().Format(time.RFC3339Nano)); err != nil {
		return 0, false, fmt.Errorf("set price: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("set price: %w", err)
	}
	return old, had, nil
}
