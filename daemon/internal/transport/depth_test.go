package transport

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
)

// Requests nobody consumes, and results no engine applied, show in the
// queue depths until they are taken; a queue that holds nothing is left out.
func TestQueueDepths(t *testing.T) {
	c := embedded(t)
	ctx := context.Background()
	var msgs []Outgoing
	for i, q := range [][2]string{{"default", "http"}, {"default", "http"}, {"default", "shell"}, {"gpu", "http"}} {
		msgs = append(msgs, Outgoing{Subject: c.ActionSubject(q[0], q[1]), MsgID: fmt.Sprintf("a/%d", i), Data: []byte(`{}`)})
	}
	msgs = append(msgs, Outgoing{Subject: c.ResultSubject(), MsgID: "r/1", Data: []byte(`{}`)})
	if err := c.PublishAll(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	actions, results, err := c.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(actions, func(i, j int) bool { return actions[i].Target+actions[i].Plugin < actions[j].Target+actions[j].Plugin })
	want := []QueueDepth{{"default", "http", 2}, {"default", "shell", 1}, {"gpu", "http", 1}}
	if !reflect.DeepEqual(actions, want) || results != 1 {
		t.Fatalf("depths = %v, results %d; want %v and 1", actions, results, want)
	}
}
