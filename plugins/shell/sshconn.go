package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/sirocco-wf/sirocco/sdk"
)

// defaultKeys are the key files paramiko, and so Mistral, tries when no
// key is given (its look_for_keys), in the plugin's key directory.
var defaultKeys = []string{"id_rsa", "id_ecdsa", "id_ed25519"}

// keySet are the keys one run authenticates with.
type keySet struct {
	signers []ssh.Signer
}

// methods are the authentication methods, in paramiko's order: the keys,
// then the password (also for keyboard-interactive prompts).
func (k keySet) methods(password string) []ssh.AuthMethod {
	var out []ssh.AuthMethod
	if len(k.signers) > 0 {
		out = append(out, ssh.PublicKeys(k.signers...))
	}
	if password != "" {
		out = append(out, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	return out
}

// loadKeys reads the key the run names (as text or by file name), then
// the default keys of the key directory that can be read; passphrase
// opens encrypted keys. A named key that cannot be used is an error; a
// default key that cannot is skipped.
func (s *shell) loadKeys(action string, filename, text *string, passphrase string) (keySet, error) {
	var ks keySet
	if text != nil && *text != "" {
		signer, err := parseKey([]byte(*text), passphrase)
		if err != nil {
			return ks, inputError(action, "private_key", err.Error())
		}
		ks.signers = append(ks.signers, signer)
	} else if filename != nil && *filename != "" {
		name := *filename
		if strings.Contains(name, "../") || strings.Contains(name, `..\`) {
			return ks, inputError(action, "private_key_filename", fmt.Sprintf("must not contain '..': %s", name))
		}
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.cfg.KeyDir, name)
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return ks, inputError(action, "private_key_filename", err.Error())
		}
		signer, err := parseKey(pem, passphrase)
		if err != nil {
			return ks, inputError(action, "private_key_filename", fmt.Sprintf("%s: %v", path, err))
		}
		ks.signers = append(ks.signers, signer)
	}
	for _, name := range defaultKeys {
		pem, err := os.ReadFile(filepath.Join(s.cfg.KeyDir, name))
		if err != nil {
			continue
		}
		if signer, err := parseKey(pem, passphrase); err == nil {
			ks.signers = append(ks.signers, signer)
		}
	}
	return ks, nil
}

func parseKey(pem []byte, passphrase string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, errors.New("the private key is encrypted: give its passphrase as password")
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase))
	}
	if err != nil {
		return nil, fmt.Errorf("not a usable private key: %w", err)
	}
	return signer, nil
}

// connector opens SSH connections for one run.
type connector struct {
	cfg      Config
	hostKeys ssh.HostKeyCallback
}

func (s *shell) newConnector(ctx sdk.Context) *connector {
	c := &connector{cfg: s.cfg}
	if s.cfg.KnownHostsFile != "" {
		cb, err := knownhosts.New(s.cfg.KnownHostsFile)
		if err != nil {
			// The file was there at start; a file that no longer parses
			// refuses every host rather than accepting any.
			c.hostKeys = func(string, net.Addr, ssh.PublicKey) error {
				return fmt.Errorf("known hosts file %s: %w", s.cfg.KnownHostsFile, err)
			}
		} else {
			c.hostKeys = cb
		}
	} else {
		log := ctx.Logger()
		c.hostKeys = func(host string, _ net.Addr, key ssh.PublicKey) error {
			// Any key is accepted, as Mistral's AutoAddPolicy accepts it;
			// the log shows which one, for an operator who wants to pin
			// them (SIROCCO_SHELL_SSH_KNOWN_HOSTS).
			log.Debug("accepting SSH host key", "host", host, "key", ssh.FingerprintSHA256(key))
			return nil
		}
	}
	return c
}

func (c *connector) dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: c.cfg.ConnectTimeout}
	return d.DialContext(ctx, "tcp", addr)
}

// handshake sets up an SSH client over conn, within the connect timeout.
func (c *connector) handshake(ctx context.Context, conn net.Conn, addr, user string, auth []ssh.AuthMethod) (*ssh.Client, error) {
	hctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	cut := context.AfterFunc(hctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: c.hostKeys,
	})
	if !cut() {
		if sc != nil {
			sc.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: no SSH session within %s (%s)", addr, c.cfg.ConnectTimeout, envConnectTimeout)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// throughGateway opens a connection to addr from the gateway: a forwarded
// TCP connection (direct-tcpip, as ssh -J does), or, when the gateway
// refuses to forward, `nc host port` run on the gateway, which is how
// Mistral reaches the host.
func throughGateway(gw *ssh.Client, addr string) (net.Conn, error) {
	conn, err := gw.Dial("tcp", addr)
	var refused *ssh.OpenChannelError
	if !errors.As(err, &refused) {
		return conn, err
	}
	host, port, _ := net.SplitHostPort(addr)
	sess, err := gw.NewSession()
	if err != nil {
		return nil, fmt.Errorf("the gateway refused to forward (%v) and to open a session: %w", refused, err)
	}
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	if err := errors.Join(err1, err2); err != nil {
		sess.Close()
		return nil, err
	}
	if err := sess.Start("nc " + host + " " + port); err != nil {
		sess.Close()
		return nil, fmt.Errorf("the gateway refused to forward (%v) and to run nc: %w", refused, err)
	}
	return &streamConn{Reader: stdout, Writer: stdin, name: "nc " + addr, close: func() error {
		stdin.Close()
		return sess.Close()
	}}, nil
}

// proxyCommandConn starts std.ssh_proxied's proxy_command, whose standard
// input and output are the connection to the gateway. It runs under
// shell.run's settings, in a process group of its own that closing the
// connection kills.
func (s *shell) proxyCommandConn(ctx sdk.Context, line string) (net.Conn, error) {
	argv, err := splitArgs(line)
	if err == nil && len(argv) == 0 {
		err = errors.New("empty command")
	}
	if err != nil {
		return nil, inputError("std.ssh_proxied", "proxy_command", err.Error())
	}
	path, err := s.cfg.resolve("std.ssh_proxied proxy_command", argv[0], "")
	if err != nil {
		if errors.Is(err, ErrNotAllowed) {
			return nil, sdk.NewError(ErrNotAllowedType, err.Error(), nil)
		}
		return nil, fmt.Errorf("proxy_command: %w", err)
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = s.cfg.commandEnv(nil)
	stderr := newCapped(s.cfg.MaxOutputBytes)
	cmd.Stderr = stderr
	setProcAttr(cmd)
	stdin, err1 := cmd.StdinPipe()
	stdout, err2 := cmd.StdoutPipe()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proxy_command: %w", err)
	}
	log := ctx.Logger()
	return &streamConn{Reader: stdout, Writer: stdin, name: argv[0], close: func() error {
		stdin.Close()
		killGroup(cmd)
		_ = cmd.Wait()
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			log.Info("proxy_command wrote to stderr", "stderr", msg)
		}
		return nil
	}}, nil
}

// streamConn is a connection made of a command's output and input, for
// an SSH handshake over a gateway's nc or a proxy command. SSH sets no
// deadlines; the handshake's timeout closes the connection instead.
type streamConn struct {
	io.Reader
	io.Writer
	name  string
	close func() error

	once     sync.Once
	closeErr error
}

// Close runs close once; SSH closes a transport from more than one
// goroutine.
func (c *streamConn) Close() error {
	c.once.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *streamConn) LocalAddr() net.Addr              { return streamAddr(c.name) }
func (c *streamConn) RemoteAddr() net.Addr             { return streamAddr(c.name) }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

type streamAddr string

func (a streamAddr) Network() string { return "stream" }
func (a streamAddr) String() string  { return string(a) }
