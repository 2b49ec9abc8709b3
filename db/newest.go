package db

import (
	"context"
	"sync"
)

// Newest keeps a node's copy of the newest version of something versioned
// in a store, such as a rule set that staff change on any node: loaded on
// first use, replaced by Refresh when the store has a newer version, and
// by Use when this node made one. Its zero value is empty.
type Newest[T any] struct {
	mu      sync.RWMutex
	cur     *T
	version int
}

// Source is how a Newest reads its store: the newest version's number (0
// for none), and one version (0: what applies while none is stored).
type Source[T any] struct {
	Latest func(ctx context.Context) (int, error)
	Load   func(ctx context.Context, version int) (*T, error)
}

// Current returns the kept version, loading the newest on first use.
func (n *Newest[T]) Current(ctx context.Context, src Source[T]) (*T, error) {
	n.mu.RLock()
	cur := n.cur
	n.mu.RUnlock()
	if cur != nil {
		return cur, nil
	}
	if _, err := n.Refresh(ctx, src); err != nil {
		return nil, err
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.cur, nil
}

// Refresh loads the newest version if the store has one newer than the
// kept one, and reports whether it did.
func (n *Newest[T]) Refresh(ctx context.Context, src Source[T]) (bool, error) {
	v, err := src.Latest(ctx)
	if err != nil {
		return false, err
	}
	n.mu.RLock()
	have, at := n.cur != nil, n.version
	n.mu.RUnlock()
	if have && at >= v {
		return false, nil
	}
	t, err := src.Load(ctx, v)
	if err != nil {
		return false, err
	}
	return n.Use(t, v), nil
}

// Use keeps t, of version v, unless a version as new is kept already, and
// reports whether it did.
func (n *Newest[T]) Use(t *T, v int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur != nil && n.version >= v {
		return false
	}
	n.cur, n.version = t, v
	return true
}
