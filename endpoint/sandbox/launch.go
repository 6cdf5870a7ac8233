package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Launcher starts stage 2 in the session cgroup.
type Launcher struct {
	// Stage2 is the command that runs Stage2() (default: this executable
	// with "run --stage2").
	Stage2 []string
	Stdin  *os.File
	Stdout *os.File
	Stderr *os.File
}

// Start forks stage 2 directly into cg (CLONE_INTO_CGROUP), adds it to
// the v1 limit leaves, then hands it the plan. Nothing runs in the child
// before it has the plan, so it is fully placed before it can act.
func (l *Launcher) Start(p *Plan, cg *Cgroup) (*exec.Cmd, error) {
	argv := l.Stage2
	if len(argv) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = []string{self, "run", "--stage2"}
	}
	cgfd, err := os.Open(cg.Path)
	if err != nil {
		return nil, fmt.Errorf("sandbox: open cgroup: %w", err)
	}
	defer cgfd.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{} // stage 2 gets its environment from the plan
	cmd.Stdin, cmd.Stdout, cmd.Stderr = l.Stdin, l.Stdout, l.Stderr
	cmd.ExtraFiles = []*os.File{r} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{
		UseCgroupFD: true,
		CgroupFD:    int(cgfd.Fd()),
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("sandbox: start: %w", err)
	}
	if err := cg.AddV1(cmd.Process.Pid); err != nil {
		w.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	err = json.NewEncoder(w).Encode(p)
	w.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("sandbox: plan: %w", err)
	}
	return cmd, nil
}
