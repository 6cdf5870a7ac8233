package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cgroup is one session's cgroup v2 leaf (and, on hybrid hosts whose v2
// hierarchy has no controllers, v1 pids/memory leaves carrying the limits).
type Cgroup struct {
	Path string // cgroup v2 directory
	ID   uint64 // cgroup v2 id (inode), what bpf_get_current_cgroup_id returns
	v1   []string
	// Limits records which limits are enforced and where, for the
	// lifecycle event ("pids.max=v2", "memory=v1", ...).
	Limits []string
}

// Limits for a session cgroup; zero means none.
type Limits struct {
	MemoryBytes uint64
	Pids        int
}

// Cgroup2Root finds the cgroup v2 mount point.
func Cgroup2Root() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ... mountpoint ... - fstype source opts
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				return fields[4], nil
			}
		}
	}
	return "", errors.New("sandbox: no cgroup v2 hierarchy mounted")
}

// NewCgroup creates <root>/warden/<name> with the limits.
func NewCgroup(name string, lim Limits) (*Cgroup, error) {
	root, err := Cgroup2Root()
	if err != nil {
		return nil, err
	}
	parent := filepath.Join(root, "warden")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: cgroup: %w", err)
	}
	// Delegate whatever controllers the root offers (none on hybrid hosts).
	if ctrls, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err == nil {
		for _, c := range strings.Fields(string(ctrls)) {
			if c == "memory" || c == "pids" || c == "cpu" {
				_ = os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+"+c), 0)
				_ = os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+c), 0)
			}
		}
	}
	sweep(parent)
	cg := &Cgroup{Path: filepath.Join(parent, name)}
	if err := os.Mkdir(cg.Path, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: cgroup: %w", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(cg.Path, &st); err != nil {
		return nil, err
	}
	cg.ID = st.Ino
	if lim.Pids > 0 {
		if err := cg.limit("pids", "pids.max", "pids.max", strconv.Itoa(lim.Pids), name); err != nil {
			cg.Remove()
			return nil, err
		}
	}
	if lim.MemoryBytes > 0 {
		if err := cg.limit("memory", "memory.max", "memory.limit_in_bytes", strconv.FormatUint(lim.MemoryBytes, 10), name); err != nil {
			cg.Remove()
			return nil, err
		}
	}
	return cg, nil
}

// sweep removes empty session leaves left by sessions that died without
// cleaning up (rmdir of a populated cgroup fails, so live ones stay).
func sweep(parent string) {
	dirs := []string{parent, "/sys/fs/cgroup/pids/warden", "/sys/fs/cgroup/memory/warden"}
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			// Only old ones: a leaf another session just made is empty
			// until its agent is cloned into it.
			if fi, err := e.Info(); err == nil && e.IsDir() && strings.HasPrefix(e.Name(), "s-") && time.Since(fi.ModTime()) > time.Minute {
				_ = os.Remove(filepath.Join(d, e.Name()))
			}
		}
	}
}

// limit writes a limit in the v2 leaf when the controller is there, else
// in a v1 leaf of that controller.
func (c *Cgroup) limit(ctrl, v2file, v1file, val, name string) error {
	if err := os.WriteFile(filepath.Join(c.Path, v2file), []byte(val), 0); err == nil {
		c.Limits = append(c.Limits, v2file+"="+val+" (v2)")
		return nil
	}
	v1root := filepath.Join("/sys/fs/cgroup", ctrl)
	if _, err := os.Stat(filepath.Join(v1root, "cgroup.procs")); err != nil {
		return fmt.Errorf("sandbox: limit %s: no %s controller in cgroup v2 or v1", v2file, ctrl)
	}
	dir := filepath.Join(v1root, "warden", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sandbox: limit %s: %w", v1file, err)
	}
	c.v1 = append(c.v1, dir)
	if err := os.WriteFile(filepath.Join(dir, v1file), []byte(val), 0); err != nil {
		return fmt.Errorf("sandbox: limit %s: %w", v1file, err)
	}
	c.Limits = append(c.Limits, v1file+"="+val+" (v1)")
	return nil
}

// AddV1 puts pid into the v1 limit leaves (the v2 placement happens at
// clone time with CLONE_INTO_CGROUP).
func (c *Cgroup) AddV1(pid int) error {
	for _, d := range c.v1 {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("sandbox: cgroup %s: %w", d, err)
		}
	}
	return nil
}

// Procs lists the pids in the session cgroup.
func (c *Cgroup) Procs() []int {
	b, _ := os.ReadFile(filepath.Join(c.Path, "cgroup.procs"))
	var out []int
	for _, l := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(l); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Kill ends every process left in the session (agents may leave daemons).
func (c *Cgroup) Kill() {
	if os.WriteFile(filepath.Join(c.Path, "cgroup.kill"), []byte("1"), 0) == nil {
		return
	}
	for _, pid := range c.Procs() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Remove kills what is left and deletes the leaves.
func (c *Cgroup) Remove() {
	c.Kill()
	for i := 0; i < 50; i++ {
		if err := os.Remove(c.Path); err == nil || os.IsNotExist(err) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range c.v1 {
		_ = os.Remove(d)
	}
}
