// Package report holds the benchmark's results: one Row per workload, mode
// and run, printed as a table for people and written as JSON for later
// comparison. A row carries its floor (the same work done bare in the same
// run) so the ratio is never taken across runs or machines.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirocco-wf/sirocco/bench/internal/floor"
)

// Status values of a row; anything else starts with one of these and a
// colon and says why.
const (
	OK          = "ok"
	Unsupported = "unsupported"
	Failed      = "error"
	Skipped     = "skipped"
)

// Metric is one measured number.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Row is one workload run on one target.
type Row struct {
	Workload string `json:"workload"`
	Mode     string `json:"mode"` // embedded, postgres, or a peer's name
	Run      int    `json:"run"`
	Size     string `json:"size"`
	Status   string `json:"status"`
	// Primary is the headline metric; HigherIsBetter says which way.
	Primary        Metric   `json:"primary"`
	HigherIsBetter bool     `json:"higher_is_better"`
	Metrics        []Metric `json:"metrics,omitempty"`
	// Floor is the same work done bare, FloorValue its figure in the
	// primary metric's unit, and FloorRatio the workload's share of it
	// (1 = as fast as the floor).
	Floor      *Floor  `json:"floor,omitempty"`
	FloorValue float64 `json:"floor_value,omitempty"`
	FloorRatio float64 `json:"floor_ratio,omitempty"`
	// Target is the goal from the issue, and Met whether it was reached.
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
	// PeerRatio is this row's primary metric against the same workload on
	// a peer server (the real Mistral), >1 meaning Sirocco is better.
	PeerRatio map[string]float64 `json:"peer_ratio,omitempty"`
	LoadAvg1  float64            `json:"loadavg1"`
	Seconds   float64            `json:"seconds"` // wall time of the whole row, set-up included
	Notes     []string           `json:"notes,omitempty"`
}

// Floor is what the floor package measured for a row.
type Floor struct {
	Task  floor.Result   `json:"task"`
	Parts []floor.Result `json:"parts,omitempty"`
}

// Add appends a metric.
func (r *Row) Add(name string, v float64, unit string) {
	r.Metrics = append(r.Metrics, Metric{name, v, unit})
}

// Note appends a remark.
func (r *Row) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// SetFloor records the floor and the ratio of the primary metric to it.
func (r *Row) SetFloor(f *Floor, value float64) {
	r.Floor, r.FloorValue = f, value
	if value > 0 && r.Primary.Value > 0 {
		if r.HigherIsBetter {
			r.FloorRatio = r.Primary.Value / value
		} else {
			r.FloorRatio = value / r.Primary.Value
		}
	}
}

// Judge records the target and whether the row met it.
func (r *Row) Judge(target string, met bool) {
	r.Target, r.Met = target, &met
}

// OK says whether the row measured something.
func (r *Row) OK() bool { return r.Status == OK }

// Machine describes where the run happened.
type Machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryMiB int64   `json:"memory_mib"`
	Kernel    string  `json:"kernel"`
	Go        string  `json:"go"`
	LoadStart float64 `json:"loadavg1_start"`
	LoadEnd   float64 `json:"loadavg1_end"`
}

// Report is one benchmark run.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Revision string    `json:"revision"` // of the tree the benchmark ran from
	// Sirocco is what the benchmarked binary says of its version.
	Sirocco  string            `json:"sirocco_version"`
	Machine  Machine           `json:"machine"`
	Settings map[string]string `json:"settings"`
	Rows     []*Row            `json:"rows"`
}

// ComparePeers fills PeerRatio of every row of a Sirocco mode from the
// mean of the peers' rows of the same workload.
func (rep *Report) ComparePeers(peers []string) {
	isPeer := map[string]bool{}
	for _, p := range peers {
		isPeer[p] = true
	}
	type key struct{ workload, mode string }
	sum, n := map[key]float64{}, map[key]int{}
	for _, r := range rep.Rows {
		if isPeer[r.Mode] && r.OK() && r.Primary.Value > 0 {
			k := key{r.Workload, r.Mode}
			sum[k] += r.Primary.Value
			n[k]++
		}
	}
	for _, r := range rep.Rows {
		if isPeer[r.Mode] || !r.OK() || r.Primary.Value <= 0 {
			continue
		}
		for _, p := range peers {
			k := key{r.Workload, p}
			if n[k] == 0 {
				continue
			}
			peer := sum[k] / float64(n[k])
			if r.PeerRatio == nil {
				r.PeerRatio = map[string]float64{}
			}
			if r.HigherIsBetter {
				r.PeerRatio[p] = r.Primary.Value / peer
			} else {
				r.PeerRatio[p] = peer / r.Primary.Value
			}
		}
	}
}

// WriteTable prints the rows for people.
func (rep *Report) WriteTable(w io.Writer, peers []string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "WORKLOAD\tMODE\tRUN\tSIZE\tRESULT\tFLOOR\tOF FLOOR\tTARGET"
	for _, p := range peers {
		head += "\tVS " + strings.ToUpper(p)
	}
	fmt.Fprintln(tw, head+"\tLOAD")
	for _, r := range rep.Rows {
		res := r.Status
		if r.OK() {
			res = fmtMetric(r.Primary)
		}
		fl, of := "-", "-"
		if r.Floor != nil && r.FloorValue > 0 {
			fl = fmtMetric(Metric{Value: r.FloorValue, Unit: r.Primary.Unit})
			if r.FloorRatio > 0 {
				of = fmt.Sprintf("%.1f%%", 100*r.FloorRatio)
			}
		}
		tg := "-"
		if r.Target != "" {
			tg = r.Target
			if r.Met != nil {
				if *r.Met {
					tg += " yes"
				} else {
					tg += " NO"
				}
			}
		}
		line := fmt.Sprintf("%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s", r.Workload, r.Mode, r.Run, r.Size, res, fl, of, tg)
		for _, p := range peers {
			if v, ok := r.PeerRatio[p]; ok {
				line += fmt.Sprintf("\t%.1fx", v)
			} else {
				line += "\t-"
			}
		}
		fmt.Fprintf(tw, "%s\t%.1f\n", line, r.LoadAvg1)
	}
	_ = tw.Flush()
	// The details no column holds.
	for _, r := range rep.Rows {
		var parts []string
		for _, m := range r.Metrics {
			parts = append(parts, m.Name+"="+fmtMetric(m))
		}
		if r.Floor != nil {
			for _, p := range r.Floor.Parts {
				parts = append(parts, fmt.Sprintf("floor.%s=%.3f ms (%.0f/s x%d)", p.Part, p.MsEach, p.PerSec, p.Parallel))
			}
		}
		parts = append(parts, r.Notes...)
		if len(parts) > 0 {
			fmt.Fprintf(w, "  %s/%s/%d: %s\n", r.Workload, r.Mode, r.Run, strings.Join(parts, "; "))
		}
	}
}

func fmtMetric(m Metric) string {
	v := m.Value
	var s string
	switch {
	case v == 0:
		s = "0"
	case math.Abs(v) >= 100:
		s = fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		s = fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		s = fmt.Sprintf("%.2f", v)
	default:
		s = fmt.Sprintf("%.3g", v)
	}
	if m.Unit != "" {
		s += " " + m.Unit
	}
	return s
}

// WriteJSON writes the report to path, creating its directory.
func (rep *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of xs.
func Percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}
