//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/bench/internal/daemon"
	"github.com/sirocco-wf/sirocco/bench/internal/report"
	"github.com/sirocco-wf/sirocco/test/failure"
)

// bins are this tree's sirocco and plugin binaries, built once.
var bins *failure.Binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sirocco-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins, err = failure.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tiny sizes: the smoke test proves the harness measures every workload
// end to end against real daemons; it asserts nothing about speed. No
// chains are in flight at the recovery's kill: their actions would come
// back only after JetStream's 30 s redelivery wait.
var tiny = []string{"-chain", "3", "-items", "4", "-item-concurrency", "2", "-concurrent", "4", "-plugin-chain", "2",
	"-memory", "5", "-recovery", "3", "-recovery-in-flight", "0", "-history", "50", "-idle-window", "200ms",
	"-poll-many", "20ms", "-floor-parallel", "4", "-start-workers", "4"}

func runBench(t *testing.T, args ...string) (*report.Report, string, int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "result.json")
	args = append(append([]string{"-sirocco", bins.Sirocco, "-plugin-dir", bins.PluginDir, "-work-dir", t.TempDir(), "-out", out}, tiny...), args...)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no JSON written (exit %d): %v\n%s", code, err, stdout.String())
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep, stdout.String(), code
}

func TestSmoke(t *testing.T) {
	// A second daemon plays the peer, so the comparison path runs too.
	peer, err := daemon.Start(context.Background(), daemon.Config{Sirocco: bins.Sirocco, PluginDir: bins.PluginDir, Mode: daemon.Embedded, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	for _, tc := range []struct {
		name string
		args []string
		// want is the rows: workload/mode -> whether a floor must be there.
		want map[string]bool
	}{
		{"embedded, every workload", []string{"-modes", "embedded"}, map[string]bool{
			"chain/embedded": true, "fanout/embedded": true, "concurrent/embedded": true, "plugin/embedded": true,
			"memory/embedded": false, "recovery/embedded": true, "history/embedded": true,
		}},
		{"postgres and a peer", []string{"-modes", "postgres", "-workloads", "chain,memory", "-peer", "self=" + peer.URL()}, map[string]bool{
			"chain/postgres": true, "memory/postgres": false, "chain/self": false, "memory/self": false,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, table, code := runBench(t, tc.args...)
			if code != 0 {
				t.Errorf("exit %d\n%s", code, table)
			}
			got := map[string]*report.Row{}
			for _, r := range rep.Rows {
				got[r.Workload+"/"+r.Mode] = r
			}
			if len(got) != len(tc.want) {
				t.Errorf("rows %v, want %v", keys(got), tc.want)
			}
			for k, wantFloor := range tc.want {
				r := got[k]
				switch {
				case r == nil:
					t.Errorf("%s: no row", k)
					continue
				case strings.HasPrefix(r.Status, report.Skipped) && r.Mode == "self" && r.Workload == "memory":
					continue // a peer has no process to read
				case strings.HasPrefix(r.Status, report.Unsupported) && r.Workload == "fanout":
					continue // until the engine runs with-items
				case !r.OK():
					t.Errorf("%s: %s %v", k, r.Status, r.Notes)
					continue
				}
				if r.Primary.Value <= 0 || r.Primary.Unit == "" {
					t.Errorf("%s: primary metric %+v", k, r.Primary)
				}
				if wantFloor && (r.Floor == nil || r.Floor.Task.PerSec <= 0 || r.FloorRatio <= 0) {
					t.Errorf("%s: floor %+v ratio %v", k, r.Floor, r.FloorRatio)
				}
				if !strings.Contains(table, r.Workload) {
					t.Errorf("%s missing from the table:\n%s", r.Workload, table)
				}
			}
			if r := got["chain/postgres"]; r != nil && r.OK() && r.PeerRatio["self"] <= 0 {
				t.Errorf("chain/postgres: no ratio to the peer: %v", r.PeerRatio)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-modes", "cluster"}, `unknown mode "cluster"`},
		{[]string{"-workloads", "chain,speed"}, `unknown workload "speed"`},
		{[]string{"-peer", "mistral"}, "want NAME=http://host:port"},
		{[]string{"-peer", "embedded=http://127.0.0.1:1"}, "name of a Sirocco mode"},
		{[]string{"-chain", "0"}, "at least 1"},
		{[]string{"-sirocco", "/nonexistent/sirocco"}, "run make build"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(tc.args, "-out", filepath.Join(t.TempDir(), "x.json")), &stdout, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q, want an error containing %q", code, stderr.String(), tc.want)
			}
		})
	}
}

func keys(m map[string]*report.Row) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
