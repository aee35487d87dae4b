package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// progress shows an execution's events to a person. On a terminal it
// keeps one status line (workflow, state, elapsed, tasks done, running and
// failed) redrawn in place, and prints a line above it for each task that
// ends. Elsewhere (a pipe, a file, a CI log) it prints one plain line per
// state change, which reads well in a log and greps well.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	color bool
	width func() int
	now   func() time.Time
	start time.Time

	workflow string
	state    string
	tasks    map[string]*taskView // by task execution id
	order    []string             // ids in the order first seen
	frame    int
	shown    bool // the status line is on the screen
}

type taskView struct {
	name, state string
}

func newProgress(w io.Writer, tty bool, start time.Time, e *api.Execution) *progress {
	p := &progress{
		w: w, tty: tty, width: func() int { return terminalWidth(w) },
		now: time.Now, start: start, tasks: map[string]*taskView{},
	}
	p.color = tty && os.Getenv("NO_COLOR") == ""
	if e != nil {
		p.workflow, p.state = e.WorkflowName, e.State
	}
	return p
}

// event takes one event of the stream. A repeated state (a resumed
// stream repeats a few events) shows nothing.
func (p *progress) event(ev client.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case ev.Task != nil:
		t := ev.Task
		v, seen := p.tasks[t.ID]
		if !seen {
			v = &taskView{name: t.Name}
			p.tasks[t.ID] = v
			p.order = append(p.order, t.ID)
		}
		if v.state == t.State {
			return
		}
		v.state = t.State
		if p.tty {
			if client.Terminal(t.State) {
				p.above(p.taskLine(t))
			}
			p.draw()
			return
		}
		p.plain("task", t.Name, t.State, deref(t.StateInfo))
	case ev.Execution != nil:
		e := ev.Execution
		if e.WorkflowName != "" {
			p.workflow = e.WorkflowName
		}
		if p.state == e.State && p.shownOnce() {
			return
		}
		p.state = e.State
		if p.tty {
			p.draw()
			return
		}
		p.plain("execution", e.WorkflowName, e.State, oneLine(deref(e.StateInfo), 200))
	}
}

// shownOnce reports whether something was printed already, so the first
// execution event is shown even when its state is the one known at start.
func (p *progress) shownOnce() bool { return p.shown || len(p.order) > 0 }

// tickEvery redraws the status line every interval, so the elapsed time
// and the spinner move while nothing happens, until the returned stop is
// called; stop waits for the last redraw and may be called again.
func (p *progress) tickEvery(interval time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				p.mu.Lock()
				p.frame++
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// finish replaces the status line by a last summary line; e is nil when
// following stopped before the end, which leaves the line as it was.
func (p *progress) finish(e *api.Execution) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		return
	}
	if e == nil {
		if p.shown {
			fmt.Fprintln(p.w)
			p.shown = false
		}
		return
	}
	p.state = e.State
	p.clear()
	done, running, failed, _ := p.counts()
	mark := p.paint(green, "✓")
	if p.state != "SUCCESS" {
		mark = p.paint(red, "✗")
	}
	fmt.Fprintf(p.w, "%s %s %s in %s: %d done, %d failed, %d not finished\n",
		mark, p.workflow, p.state, fmtElapsed(p.elapsed()), done, failed, len(running))
}

// plain prints one log line: elapsed, kind, name, state and why.
func (p *progress) plain(kind, name, state, info string) {
	line := fmt.Sprintf("%8s  %-9s  %-24s  %s", fmtElapsed(p.elapsed()), kind, name, state)
	if info != "" && info != "-" {
		line += "  " + oneLine(info, 200)
	}
	fmt.Fprintln(p.w, line)
	p.shown = true
}

// taskLine is the line printed above the status line when a task ends.
func (p *progress) taskLine(t *api.Task) string {
	var mark string
	switch t.State {
	case "SUCCESS":
		mark = p.paint(green, "✓")
	case "ERROR":
		mark = p.paint(red, "✗")
	default:
		mark = p.paint(yellow, "-")
	}
	line := fmt.Sprintf("  %s %-24s %s  %s", mark, t.Name, fmtElapsed(p.elapsed()), strings.ToLower(t.State))
	if t.State != "SUCCESS" && t.StateInfo != nil && *t.StateInfo != "" {
		line += "  " + oneLine(*t.StateInfo, p.width())
	}
	return line
}

// above prints a permanent line above the status line.
func (p *progress) above(line string) {
	p.clear()
	fmt.Fprintln(p.w, p.fit(line))
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// draw writes the status line in place of the previous one.
func (p *progress) draw() {
	done, running, failed, cancelled := p.counts()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s  %s  %s  │ %s done · %s running · %s failed",
		spinner[p.frame%len(spinner)], p.workflow, p.state, fmtElapsed(p.elapsed()),
		p.paint(green, fmt.Sprint(done)), p.paint(yellow, fmt.Sprint(len(running))), p.paint(red, fmt.Sprint(failed)))
	if cancelled > 0 {
		fmt.Fprintf(&b, " · %d cancelled", cancelled)
	}
	if len(running) > 0 {
		b.WriteString("  │ " + strings.Join(running, ", "))
	}
	fmt.Fprint(p.w, "\r\x1b[K"+p.fit(b.String()))
	p.shown = true
}

// clear erases the status line, if it is on the screen.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// counts tallies the tasks: done (SUCCESS), failed (ERROR), cancelled,
// and the names of the others, which are still to finish.
func (p *progress) counts() (done int, running []string, failed, cancelled int) {
	for _, id := range p.order {
		t := p.tasks[id]
		switch t.state {
		case "SUCCESS":
			done++
		case "ERROR":
			failed++
		case "CANCELLED":
			cancelled++
		default:
			running = append(running, t.name)
		}
	}
	return done, running, failed, cancelled
}

func (p *progress) elapsed() time.Duration {
	return max(p.now().Sub(p.start), 0)
}

// fit cuts a line to the terminal's width, so it never wraps and the
// carriage return redraws it whole. Escape sequences take no columns.
func (p *progress) fit(s string) string {
	width := p.width() - 1
	var b strings.Builder
	cols, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			if cols == width {
				if p.color {
					b.WriteString(reset)
				}
				return b.String()
			}
			cols++
		}
		b.WriteRune(r)
	}
	return b.String()
}

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

func (p *progress) paint(color, s string) string {
	if !p.color {
		return s
	}
	return color + s + reset
}

// fmtElapsed shows a duration as people read it: 0.4s, 12.3s, 3m07s,
// 2h05m.
func fmtElapsed(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// isTerminal reports whether w is a terminal that understands the
// cursor movements of the status line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
