package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/bench/internal/floor"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{ms(4, 1, 3, 2), 99, 4 * time.Millisecond},
		{ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 90, 90 * time.Millisecond},
		{ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 91, 100 * time.Millisecond},
	} {
		if got := Percentile(tc.xs, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
		}
	}
}

func TestFloorRatio(t *testing.T) {
	for _, tc := range []struct {
		name         string
		value, floor float64
		higher       bool
		want         float64
	}{
		{"rate at half the floor", 50, 100, true, 0.5},
		{"time twice the floor's", 20, 10, false, 0.5},
		{"no floor", 50, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Row{Primary: Metric{Value: tc.value}, HigherIsBetter: tc.higher}
			r.SetFloor(&Floor{}, tc.floor)
			if r.FloorRatio != tc.want {
				t.Errorf("ratio %v, want %v", r.FloorRatio, tc.want)
			}
		})
	}
}

func TestComparePeersAndTable(t *testing.T) {
	rep := &Report{Rows: []*Row{
		{Workload: "chain", Mode: "embedded", Run: 1, Status: OK, Primary: Metric{"tasks_per_s", 300, "tasks/s"}, HigherIsBetter: true,
			Floor: &Floor{Task: floor.Result{PerSec: 600}, Parts: []floor.Result{{Part: floor.PartCommit, MsEach: 0.1, PerSec: 10000, Parallel: 1}}}, FloorValue: 600, FloorRatio: 0.5},
		{Workload: "chain", Mode: "mistral", Run: 1, Status: OK, Primary: Metric{"tasks_per_s", 2, "tasks/s"}, HigherIsBetter: true},
		{Workload: "chain", Mode: "mistral", Run: 2, Status: OK, Primary: Metric{"tasks_per_s", 4, "tasks/s"}, HigherIsBetter: true},
		{Workload: "recovery", Mode: "embedded", Run: 1, Status: OK, Primary: Metric{"restart_to_all_ended", 10, "s"}},
		{Workload: "recovery", Mode: "mistral", Run: 1, Status: OK, Primary: Metric{"restart_to_all_ended", 40, "s"}},
		{Workload: "fanout", Mode: "embedded", Run: 1, Status: Unsupported + ": with-items"},
		{Workload: "fanout", Mode: "mistral", Run: 1, Status: OK, Primary: Metric{"items_per_s", 2, "items/s"}, HigherIsBetter: true},
	}}
	rep.ComparePeers([]string{"mistral"})
	for _, tc := range []struct {
		row  int
		want float64
	}{
		{0, 100}, // 300 against the mean of 2 and 4
		{1, 0},   // a peer is not compared with itself
		{3, 4},   // lower is better: 40 s against 10 s
		{5, 0},   // nothing measured
	} {
		if got := rep.Rows[tc.row].PeerRatio["mistral"]; got != tc.want {
			t.Errorf("row %d: ratio %v, want %v", tc.row, got, tc.want)
		}
	}
	var b bytes.Buffer
	rep.WriteTable(&b, []string{"mistral"})
	for _, want := range []string{"VS MISTRAL", "300 tasks/s", "50.0%", "100.0x", "4.0x", "unsupported: with-items", "floor.commit=0.100 ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
