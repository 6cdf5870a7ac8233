// Package daemon is `warden endpointd`: a small privileged service on a
// local unix socket that runs sandboxed sessions for unprivileged `warden
// run` callers. It does the privileged set-up (cgroup leaf, eBPF programs)
// and always runs the agent as the calling user (SO_PEERCRED), never as
// root, with a profile the caller may name but not supply: only shipped
// profiles and files under the administrator's profile directory, so a user
// cannot widen their own sandbox. The caller's stdin/stdout/stderr travel
// as file descriptors (SCM_RIGHTS); closing the connection ends the
// session.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wardenhq/warden/endpoint/launch"
)

// DefaultSocket is where endpointd listens.
const DefaultSocket = "/run/warden/endpointd.sock"

// Request is what `warden run` sends.
type Request struct {
	Profile      string   `json:"profile"`
	Argv         []string `json:"argv"`
	Project      string   `json:"project"`
	Env          []string `json:"env"`
	AgentVersion string   `json:"agent_version"`
}

// Reply ends a session.
type Reply struct {
	SessionID string `json:"session_id"`
	ExitCode  int    `json:"exit_code"`
	Error     string `json:"error,omitempty"`
}

// Server holds the daemon's own settings; callers cannot change them.
type Server struct {
	Base       launch.Config // collector, buffer, keys, tenant
	ProfileDir string        // administrator profiles (default /etc/warden/profiles)
	Logf       func(string, ...any)
}

// Serve accepts sessions until ctx ends.
func (s *Server) Serve(ctx context.Context, socket string) error {
	if s.ProfileDir == "" {
		s.ProfileDir = "/etc/warden/profiles"
	}
	if s.Logf == nil {
		s.Logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, "warden endpointd: "+f+"\n", a...) }
	}
	if s.Base.Collector != "" && s.Base.Sink == nil {
		x, err := launch.OpenExporter(s.Base)
		if err != nil {
			return err
		}
		defer x.Close()
		s.Base.Sink = x
	}
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return err
	}
	_ = os.Remove(socket)
	l, err := net.Listen("unixpacket", socket)
	if err != nil {
		return err
	}
	defer l.Close()
	// Any local user may ask for a sandbox; it only ever sandboxes them.
	if err := os.Chmod(socket, 0o666); err != nil {
		return err
	}
	go func() { <-ctx.Done(); l.Close() }()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go s.handle(ctx, c.(*net.UnixConn))
	}
}

func (s *Server) handle(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	reply := func(r Reply) { b, _ := json.Marshal(r); _, _ = c.Write(b) }
	uid, err := peerUID(c)
	if err != nil {
		reply(Reply{ExitCode: 125, Error: err.Error()})
		return
	}
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return
	}
	files, err := recvFiles(oob[:oobn])
	if err != nil || len(files) != 3 {
		reply(Reply{ExitCode: 125, Error: "endpointd: want stdin, stdout and stderr descriptors"})
		return
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var req Request
	if err := json.Unmarshal(buf[:n], &req); err != nil {
		reply(Reply{ExitCode: 125, Error: "endpointd: bad request: " + err.Error()})
		return
	}
	if uid == 0 {
		reply(Reply{ExitCode: 125, Error: "endpointd: root callers run `warden run --user NAME` directly; the agent never runs as root"})
		return
	}
	prof, err := s.allowedProfile(req.Profile)
	if err != nil {
		reply(Reply{ExitCode: 125, Error: err.Error()})
		return
	}
	cfg := s.Base
	cfg.Profile, cfg.Argv, cfg.Project, cfg.Env, cfg.AgentVersion = prof, req.Argv, req.Project, req.Env, req.AgentVersion
	cfg.User = strconv.Itoa(int(uid))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the caller hanging up ends the session
		b := make([]byte, 1)
		_, _ = c.Read(b)
		cancel()
	}()
	s.Logf("uid %d: %s (profile %s)", uid, strings.Join(req.Argv, " "), prof)
	res, err := launch.Run(sctx, cfg, files[0], files[1], files[2])
	r := Reply{SessionID: res.SessionID, ExitCode: res.ExitCode}
	if err != nil {
		r.Error, r.ExitCode = err.Error(), 126
	}
	reply(r)
}

// allowedProfile accepts a shipped profile name or a file in ProfileDir.
func (s *Server) allowedProfile(p string) (string, error) {
	if p == "" || !strings.ContainsRune(p, '/') && !strings.HasSuffix(p, ".yaml") {
		return p, nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	if !strings.HasPrefix(abs, filepath.Clean(s.ProfileDir)+"/") {
		return "", fmt.Errorf("endpointd: profile %s: unprivileged callers may use shipped profiles or files in %s only", p, s.ProfileDir)
	}
	return abs, nil
}

func peerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	err = raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return cred.Uid, nil
}

func recvFiles(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var out []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for i, fd := range fds {
			out = append(out, os.NewFile(uintptr(fd), "fd"+strconv.Itoa(i)))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no descriptors")
	}
	return out, nil
}

// Client runs a session through endpointd with this process's stdio and
// returns the agent's exit code.
func Client(socket string, req Request) (Reply, error) {
	c, err := net.Dial("unixpacket", socket)
	if err != nil {
		return Reply{}, fmt.Errorf("warden run: not root and endpointd is not reachable at %s (%v): start it (systemctl start warden-endpointd) or run through sudo", socket, err)
	}
	defer c.Close()
	uc := c.(*net.UnixConn)
	b, _ := json.Marshal(req)
	if _, _, err := uc.WriteMsgUnix(b, unix.UnixRights(0, 1, 2), nil); err != nil {
		return Reply{}, err
	}
	buf := make([]byte, 64<<10)
	n, err := uc.Read(buf)
	if err != nil {
		return Reply{}, fmt.Errorf("warden run: endpointd: %w", err)
	}
	var r Reply
	if err := json.Unmarshal(buf[:n], &r); err != nil {
		return Reply{}, err
	}
	return r, nil
}
