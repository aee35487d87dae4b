package transport

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// routes remembers, for good, which plugin serves an action on a target,
// once any host has said so. With it the engine can queue an action for a
// plugin whose hosts are all down right now: the request waits in the
// plugin's work queue until a host binds, and the task says what it waits
// for, instead of failing as if the action did not exist.
type routes struct {
	kv jetstream.KeyValue

	mu sync.RWMutex
	m  map[string]string // target + "." + action -> plugin
}

func (c *Conn) openRoutes(ctx context.Context) (*routes, error) {
	replicas, err := c.bucketReplicas(ctx, c.streamName("ROUTES"))
	if err != nil {
		return nil, fmt.Errorf("action routes: %w", err)
	}
	kv, err := c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      c.streamName("ROUTES"),
		Description: "Sirocco: which plugin serves an action on an executor pool, once seen",
		History:     1,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("action routes: %w", err)
	}
	return &routes{kv: kv, m: map[string]string{}}, nil
}

func routeKey(target, action string) string { return target + "." + action }

// learn records the routes a host announces, writing only what changed.
func (r *routes) learn(ctx context.Context, info ExecutorInfo) error {
	for _, p := range info.Plugins {
		for _, a := range p.Actions {
			k := routeKey(info.Target, a)
			r.mu.RLock()
			known := r.m[k]
			r.mu.RUnlock()
			if known == p.Name {
				continue
			}
			if _, err := r.kv.PutString(ctx, k, p.Name); err != nil {
				return fmt.Errorf("record route %s: %w", k, err)
			}
			r.set(k, p.Name)
		}
	}
	return nil
}

func (r *routes) set(k, plugin string) {
	r.mu.Lock()
	r.m[k] = plugin
	r.mu.Unlock()
}

func (r *routes) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		r.mu.Lock()
		delete(r.m, e.Key())
		r.mu.Unlock()
		return
	}
	r.set(e.Key(), strings.TrimSpace(string(e.Value())))
}

func (r *routes) lookup(target, action string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.m[routeKey(target, action)]
	return p, ok
}
