package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RegistryTTL is how long an executor host's entry lives without a refresh.
// Hosts refresh at a third of it, so one lost refresh does not drop a host.
const RegistryTTL = 15 * time.Second

// BuiltinPlugin is the plugin name of the actions every executor host runs
// in-process (std.echo, std.noop, std.fail, ...).
const BuiltinPlugin = "builtin"

// ExecutorInfo is what an executor host says about itself in the registry.
type ExecutorInfo struct {
	V         string        `json:"v"`
	ID        string        `json:"id"`
	Host      string        `json:"host"`
	Target    string        `json:"target"`
	Plugins   []PluginEntry `json:"plugins"`
	Capacity  int           `json:"capacity"`
	Running   int           `json:"running"`
	StartedAt time.Time     `json:"started_at"`
	SeenAt    time.Time     `json:"seen_at"`
}

// PluginEntry names a plugin a host runs and the actions it serves, with
// what the API lists about it (GET /v2/plugins, GET /v2/actions) and what
// the engine checks a task's input against. The fields after Actions were
// added in message minor 1.0 as optional fields; an older host leaves them
// empty.
type PluginEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Actions []string `json:"actions"`
	// Protocol is the plugin protocol the host negotiated, "major.minor";
	// empty for the built-in actions.
	Protocol   string `json:"protocol,omitempty"`
	SDKVersion string `json:"sdk_version,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	// Health is "ok", "restarting" or "refused" (a binary whose sha256
	// does not match its catalog entry: listed, never run).
	Health string `json:"health,omitempty"`
	// Specs describe the actions, in the order of Actions.
	Specs []ActionSpec `json:"specs,omitempty"`
}

// ActionSpec describes one action of a PluginEntry.
type ActionSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Input is the JSON Schema of the action's input object; empty when
	// the plugin gave none (any input is then accepted).
	Input       json.RawMessage `json:"input,omitempty"`
	Async       bool            `json:"async,omitempty"`
	Cancellable bool            `json:"cancellable,omitempty"`
}

// Registry is the JetStream key-value bucket in which executor hosts
// announce themselves. Engines watch it to know which plugin serves an
// action, and the API lists it.
type Registry struct {
	kv     jetstream.KeyValue
	routes *routes

	mu    sync.RWMutex
	hosts map[string]ExecutorInfo
}

// Registry opens (creating when needed) the executor registry bucket.
func (c *Conn) Registry(ctx context.Context) (*Registry, error) {
	replicas, err := c.bucketReplicas(ctx, c.streamName("EXECUTORS"))
	if err != nil {
		return nil, fmt.Errorf("executor registry: %w", err)
	}
	kv, err := c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      c.streamName("EXECUTORS"),
		Description: "Sirocco executor hosts; an entry expires unless refreshed",
		TTL:         RegistryTTL,
		History:     1,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("executor registry: %w", err)
	}
	rt, err := c.openRoutes(ctx)
	if err != nil {
		return nil, err
	}
	return &Registry{kv: kv, routes: rt, hosts: map[string]ExecutorInfo{}}, nil
}

// Put announces or refreshes a host.
func (r *Registry) Put(ctx context.Context, info ExecutorInfo) error {
	info.V = ProtocolVersion
	info.SeenAt = time.Now().UTC()
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if _, err := r.kv.Put(ctx, info.ID, b); err != nil {
		return fmt.Errorf("register executor %s: %w", info.ID, err)
	}
	r.store(info)
	return r.routes.learn(ctx, info)
}

// Remove withdraws a host that is shutting down cleanly.
func (r *Registry) Remove(ctx context.Context, id string) error {
	r.mu.Lock()
	delete(r.hosts, id)
	r.mu.Unlock()
	if err := r.kv.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("unregister executor %s: %w", id, err)
	}
	return nil
}

// Watch keeps the in-memory view current until ctx ends. It returns once the
// initial values have been read, so a caller can Lookup right away.
func (r *Registry) Watch(ctx context.Context) error {
	if err := watchBucket(ctx, r.routes.kv, r.routes.apply); err != nil {
		return fmt.Errorf("watch action routes: %w", err)
	}
	if err := watchBucket(ctx, r.kv, r.apply); err != nil {
		return fmt.Errorf("watch executor registry: %w", err)
	}
	return nil
}

// watchBucket applies every entry of a bucket, then every change, until
// ctx ends; it returns once the initial values are in (or after 10 s).
func watchBucket(ctx context.Context, kv jetstream.KeyValue, apply func(jetstream.KeyValueEntry)) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	initial := make(chan struct{})
	go func() {
		defer func() { _ = w.Stop() }()
		once := sync.Once{}
		for {
			select {
			case <-ctx.Done():
				once.Do(func() { close(initial) })
				return
			case e, ok := <-w.Updates():
				if !ok {
					once.Do(func() { close(initial) })
					return
				}
				if e == nil { // end of the initial values
					once.Do(func() { close(initial) })
					continue
				}
				apply(e)
			}
		}
	}()
	select {
	case <-initial:
	case <-time.After(10 * time.Second):
	}
	return nil
}

func (r *Registry) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		r.mu.Lock()
		delete(r.hosts, e.Key())
		r.mu.Unlock()
		return
	}
	var info ExecutorInfo
	if err := Decode(e.Value(), &info); err != nil {
		return // a host of another major: not ours to route to
	}
	r.store(info)
}

func (r *Registry) store(info ExecutorInfo) {
	r.mu.Lock()
	r.hosts[info.ID] = info
	r.mu.Unlock()
}

// Hosts lists the live hosts, sorted by id. A host whose entry has not been
// refreshed within the TTL is gone even if no delete was seen (bucket TTL
// expiry sends no delete marker).
func (r *Registry) Hosts() []ExecutorInfo {
	cutoff := time.Now().Add(-RegistryTTL)
	r.mu.RLock()
	out := make([]ExecutorInfo, 0, len(r.hosts))
	stale := false
	for _, h := range r.hosts {
		if h.SeenAt.After(cutoff) {
			out = append(out, h)
		} else {
			stale = true
		}
	}
	r.mu.RUnlock()
	if stale { // forget expired hosts, so restarts do not pile up entries
		r.mu.Lock()
		for id, h := range r.hosts {
			if !h.SeenAt.After(cutoff) {
				delete(r.hosts, id)
			}
		}
		r.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Route finds the plugin that serves action on executor pool target. live
// says whether a host serving it is registered now; a known route without
// a live host means the request will wait in the queue for one.
func (r *Registry) Route(target, action string) (plugin string, live, ok bool) {
	if p, ok := r.PluginFor(target, action); ok {
		return p, true, true
	}
	p, ok := r.routes.lookup(target, action)
	return p, false, ok
}

// PluginFor finds the plugin that a live host serves action with on
// executor pool target.
func (r *Registry) PluginFor(target, action string) (string, bool) {
	for _, h := range r.Hosts() {
		if h.Target != target {
			continue
		}
		for _, p := range h.Plugins {
			for _, a := range p.Actions {
				if a == action {
					return p.Name, true
				}
			}
		}
	}
	return "", false
}
