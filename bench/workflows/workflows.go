// Package workflows writes the Mistral v2 workflow documents the benchmark
// runs. They are generated rather than typed because the chain workloads
// take their length from the command line (a quick run uses short chains);
// the files beside this one are the generator's output at the standard
// sizes, so that other tools (and the real Mistral) can run exactly the
// same documents, and a test keeps them equal to it.
package workflows

import (
	"fmt"
	"strings"
)

// Names of the workflows, as the documents define them.
const (
	Chain     = "bench_chain"
	Chain5    = "bench_chain5"
	HTTPChain = "bench_http_chain"
	FanOut    = "bench_fanout"
	Wait      = "bench_wait"
)

// Standard sizes: the lengths of the committed files.
const (
	StandardChain   = 100
	StandardItems   = 10000
	StandardFanConc = 100
)

// ChainDoc is n sequential std.noop tasks.
func ChainDoc(n int) string {
	return chainDoc(Chain, n, "std.noop", "", "")
}

// Chain5Doc is the 5-task chain the concurrent workload starts many times.
func Chain5Doc() string {
	return chainDoc(Chain5, 5, "std.noop", "", "")
}

// HTTPChainDoc is n sequential std.http GETs of the input url, so every
// task is a call into the http plugin's process.
func HTTPChainDoc(n int) string {
	return chainDoc(HTTPChain, n, "std.http", "  input:\n    - url\n", " url=<% $.url %>")
}

func chainDoc(name string, n int, action, input, args string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\nversion: '2.0'\n%s:\n  type: direct\n%s  tasks:\n", name, input)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "    t%03d:\n      action: %s%s\n", i, action, args)
		if i < n {
			fmt.Fprintf(&b, "      on-success: t%03d\n", i+1)
		}
	}
	return b.String()
}

// FanOutDoc is with-items over range(0, n) with the given concurrency;
// both are inputs with the standard sizes as defaults.
func FanOutDoc() string {
	return fmt.Sprintf(`---
version: '2.0'
%s:
  type: direct
  input:
    - n: %d
    - concurrency: %d
  tasks:
    items:
      with-items: i in <%% range(0, $.n) %%>
      concurrency: <%% $.concurrency %%>
      action: std.noop
`, FanOut, StandardItems, StandardFanConc)
}

// WaitDoc waits on an async action (its result comes through PUT
// /v2/action_executions/{id}) and then runs one more task, so an execution
// that was waiting visibly moves on after its result.
func WaitDoc() string {
	return fmt.Sprintf(`---
version: '2.0'
%s:
  type: direct
  tasks:
    wait:
      action: std.async_noop
      on-success: done
    done:
      action: std.noop
`, Wait)
}

// Standard is every document at the standard sizes, by file name.
func Standard() map[string]string {
	return map[string]string{
		"chain.yaml":      ChainDoc(StandardChain),
		"chain5.yaml":     Chain5Doc(),
		"http_chain.yaml": HTTPChainDoc(StandardChain),
		"fanout.yaml":     FanOutDoc(),
		"wait.yaml":       WaitDoc(),
	}
}
