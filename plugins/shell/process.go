package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// drainGrace is how long output may still arrive after a command's process
// group is gone, from a process that left the group and kept its pipes.
const drainGrace = 2 * time.Second

// process is a command running in a process group of its own, with its
// stdout and stderr read into capped buffers.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *capped
	pipes          []*os.File
	readers        sync.WaitGroup
}

// processSpec is what to start.
type processSpec struct {
	path  string // the resolved program
	argv  []string
	dir   string
	env   []string
	stdin io.Reader
	limit int // per stream
}

// startProcess starts a command. Its output goes through pipes the plugin
// owns rather than through exec's copying, so that waiting for the command
// ends when the command ends, not when the last process holding its
// output does.
func startProcess(s processSpec) (*process, error) {
	cmd := exec.Command(s.path, s.argv[1:]...)
	cmd.Args[0] = s.argv[0]
	cmd.Dir, cmd.Env, cmd.Stdin = s.dir, s.env, s.stdin
	// A stdin the command never reads must not hold Wait.
	cmd.WaitDelay = time.Second
	setProcAttr(cmd)
	p := &process{cmd: cmd, stdout: newCapped(s.limit), stderr: newCapped(s.limit)}
	var writers []*os.File
	for _, dst := range []*capped{p.stdout, p.stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			p.closePipes()
			closeAll(writers)
			return nil, fmt.Errorf("make a pipe: %w", err)
		}
		p.pipes, writers = append(p.pipes, r), append(writers, w)
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			_, _ = io.Copy(dst, r)
		}()
	}
	cmd.Stdout, cmd.Stderr = writers[0], writers[1]
	err := cmd.Start()
	closeAll(writers) // the command has its copies
	if err != nil {
		p.closePipes()
		p.readers.Wait()
		return nil, err
	}
	return p, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

func (p *process) closePipes() { closeAll(p.pipes) }

// ending says how a process ended.
type ending int

const (
	exited   ending = iota // by itself
	timedOut               // killed at its timeout
	stopped                // killed because the run's context ended
)

// wait waits for the command to end, its timeout to pass (0: none) or
// ctx to end, kills the command's process group in every case (what the
// command left running in it too), and collects the output.
func (p *process) wait(ctx context.Context, timeout time.Duration) (*os.ProcessState, ending) {
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	how := exited
	select {
	case <-done:
	case <-expired:
		how = timedOut
	case <-ctx.Done():
		how = stopped
	}
	killGroup(p.cmd)
	if how != exited {
		<-done
	}
	drained := make(chan struct{})
	go func() {
		p.readers.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(drainGrace):
		p.closePipes()
		<-drained
	}
	p.closePipes()
	return p.cmd.ProcessState, how
}

// startError says why a command did not start.
func startError(program string, err error) string {
	return fmt.Sprintf("cannot start %s: %v", program, err)
}
