package profile

import (
	"strings"
	"testing"
)

func TestShippedDefaultsValidate(t *testing.T) {
	names := Names()
	for _, want := range []string{"claude", "codex", "gemini", "generic"} {
		p, err := Default(want)
		if err != nil {
			t.Fatalf("%s: %v (have %v)", want, err, names)
		}
		// Every default denies the credential stores and /etc/shadow.
		for _, d := range []string{"~/.ssh", "~/.aws", "~/.config/gcloud", "~/.local/share/keyrings", "/etc/shadow"} {
			if !contains(p.FS.Deny, d) {
				t.Errorf("%s: fs.deny lacks %s", want, d)
			}
		}
		if !contains(p.FS.Write, "${PROJECT}") {
			t.Errorf("%s: project not writable", want)
		}
		for _, w := range p.FS.Write {
			if w == "~" {
				t.Errorf("%s: whole home writable", want)
			}
		}
	}
	c, _ := Default("claude")
	if c.Agent != "claude_code" || !contains(c.FS.Write, "~/.claude") || !contains(c.FS.Exec, "/usr/bin") {
		t.Errorf("claude profile did not extend generic: %+v", c)
	}
}

func TestValidationNamesTheKey(t *testing.T) {
	cases := map[string]string{
		"name: x\nfs:\n  write: [relative/dir]\n":        "fs.write[0]",
		"name: x\nfs:\n  read: [/ok, /a/../etc]\n":       "fs.read[1]",
		"name: x\nnet:\n  allow: [\"10.0.0.1\"]\n":       "net.allow[0]",
		"name: x\nnet:\n  allow: [\"10.0.0.1:70000\"]\n": "net.allow[0]",
		"name: x\nnet:\n  allow: [\"h:1/sctp\"]\n":       "net.allow[0]",
		"name: x\nnet:\n  dns: [resolver.local]\n":       "net.dns[0]",
		"name: x\nlimits:\n  memory: lots\n":             "limits.memory",
		"name: x\nlimits:\n  pids: -1\n":                 "limits.pids",
		"name: x\napproved_binaries:\n  - sha256: abc\n": "approved_binaries[0].sha256",
		"name: x\ngateway: ftp://x\n":                    "gateway",
		"name: x\nfs:\n  wrte: [/tmp]\n":                 "wrte",
		"fs:\n  read: [/]\n":                             "name",
		"name: x\nextends: nosuch\n":                     "extends",
	}
	for in, key := range cases {
		_, err := Parse([]byte(in), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: err %v, want it to name %q", in, err, key)
		}
	}
}

func TestParseDestAndBytes(t *testing.T) {
	d, err := ParseDest("[::1]:4318/tcp")
	if err != nil || d.Host != "::1" || d.Port != 4318 || d.Proto != "tcp" {
		t.Fatalf("%+v %v", d, err)
	}
	n, err := ParseBytes("512MiB")
	if err != nil || n != 512<<20 {
		t.Fatalf("%d %v", n, err)
	}
	v := Vars{Home: "/home/u", Project: "/w/p", TmpDir: "/tmp"}
	if got := v.Expand("~/.ssh"); got != "/home/u/.ssh" {
		t.Fatal(got)
	}
	if got := v.Expand("${PROJECT}/sub"); got != "/w/p/sub" {
		t.Fatal(got)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestTelemetryHashMax: telemetry.hash_max parses with units, defaults to
// 1 MiB, and a bad or zero bound names the key.
func TestTelemetryHashMax(t *testing.T) {
	p := &Profile{Name: "x"}
	if got := p.HashMaxBytes(); got != DefaultHashMax {
		t.Errorf("default %d, want %d", got, DefaultHashMax)
	}
	p.Telemetry.HashMax = "256KiB"
	if err := p.Validate(); err != nil || p.HashMaxBytes() != 256<<10 {
		t.Errorf("256KiB: %d, %v", p.HashMaxBytes(), err)
	}
	for _, bad := range []string{"0", "lots", "-1MiB"} {
		p.Telemetry.HashMax = bad
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "telemetry.hash_max") {
			t.Errorf("hash_max %q: error %v, want one naming telemetry.hash_max", bad, err)
		}
	}
}
