//go:build linux

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr puts the command in a process group of its own, so that
// everything it starts can be killed with it, and asks the kernel to kill
// it should the plugin die first.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the command's whole process group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// exitCode is the status a shell would report: the exit status, or 128
// and the signal's number for a command killed by a signal.
func exitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}
