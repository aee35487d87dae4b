package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshServer is an SSH server inside the test process: it authenticates
// with passwords or public keys, runs exec requests with sh -c on this
// machine, and forwards direct-tcpip channels (or refuses to, and then
// runs "nc host port" itself, as a gateway with nc would).
type sshServer struct {
	t       *testing.T
	addr    string
	hostKey ssh.Signer

	password   string          // accepted for any user when not empty
	authorized []ssh.PublicKey // accepted for any user
	noForward  bool            // refuse direct-tcpip

	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	users  []string // who authenticated, in order
	dialed []string // where forwarded and nc connections went
}

type sshServerOptions struct {
	password   string
	authorized []ssh.PublicKey
	noForward  bool
}

func newSSHServer(t *testing.T, o sshServerOptions) *sshServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sshServer{t: t, addr: ln.Addr().String(), hostKey: hostKey, password: o.password,
		authorized: o.authorized, noForward: o.noForward, ln: ln, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *sshServer) close() {
	s.cancel()
	s.ln.Close()
	s.wg.Wait()
}

func (s *sshServer) config() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{}
	if s.password != "" {
		cfg.PasswordCallback = func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
			if string(pass) == s.password {
				s.record(&s.users, c.User())
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	if len(s.authorized) > 0 {
		cfg.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range s.authorized {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					s.record(&s.users, c.User())
					return nil, nil
				}
			}
			return nil, errors.New("unknown key")
		}
	}
	cfg.AddHostKey(s.hostKey)
	return cfg
}

func (s *sshServer) record(list *[]string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
}

func (s *sshServer) seen() (users, dialed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.users...), append([]string(nil), s.dialed...)
}

func (s *sshServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

func (s *sshServer) handle(conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(s.ctx, func() { conn.Close() })
	defer stop()
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.config())
	if err != nil {
		return
	}
	defer sc.Close()
	// Everything this connection started ends when it closes.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for nc := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch nc.ChannelType() {
			case "session":
				s.session(ctx, nc)
			case "direct-tcpip":
				s.forward(ctx, nc)
			default:
				_ = nc.Reject(ssh.UnknownChannelType, "no")
			}
		}()
	}
}

func (s *sshServer) session(ctx context.Context, nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		status := s.exec(ctx, ch, payload.Command)
		_, _ = ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(status)))
		return
	}
}

// exec runs a command for a session: "nc host port" as a gateway's nc, any
// other with sh -c.
func (s *sshServer) exec(ctx context.Context, ch ssh.Channel, command string) int {
	if f := strings.Fields(command); len(f) == 3 && f[0] == "nc" {
		addr := net.JoinHostPort(f[1], f[2])
		s.record(&s.dialed, "nc "+addr)
		target, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			fmt.Fprintln(ch.Stderr(), err)
			return 1
		}
		pipe(ch, target)
		return 0
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return 255
}

func (s *sshServer) forward(ctx context.Context, nc ssh.NewChannel) {
	if s.noForward {
		_ = nc.Reject(ssh.Prohibited, "port forwarding is disabled")
		return
	}
	var payload struct {
		Host       string
		Port       uint32
		OriginAddr string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &payload); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	addr := net.JoinHostPort(payload.Host, strconv.Itoa(int(payload.Port)))
	target, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	s.record(&s.dialed, "forward "+addr)
	ch, reqs, err := nc.Accept()
	if err != nil {
		target.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	stop := context.AfterFunc(ctx, func() { ch.Close(); target.Close() })
	defer stop()
	pipe(ch, target)
}

// pipe copies both ways until either side ends, then closes both.
func pipe(ch ssh.Channel, conn net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, ch); done <- struct{}{} }()
	go func() { _, _ = io.Copy(ch, conn); done <- struct{}{} }()
	<-done
	conn.Close()
	ch.Close()
	<-done
}

// netcatFlag makes the test binary a netcat (see TestMain), for
// std.ssh_proxied's proxy_command.
const netcatFlag = "-sirocco-test-netcat"

func netcat(addr string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		_, _ = io.Copy(conn, os.Stdin)
		conn.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(os.Stdout, conn)
	os.Exit(0)
}
