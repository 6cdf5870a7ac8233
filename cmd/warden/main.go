// Command warden is Warden's one operator CLI. It is thin: each subcommand
// lives in its own file (cmd_<name>.go), registers itself with register()
// and calls into the package that owns the job.
package main

import (
	"fmt"
	"os"
	"sort"
)

// subcommand is one `warden NAME ...` entry.
type subcommand struct {
	name    string
	summary string
	run     func(args []string) int // returns the process exit code
}

var subcommands = map[string]subcommand{}

func register(c subcommand) {
	if _, dup := subcommands[c.name]; dup {
		panic("warden: subcommand registered twice: " + c.name)
	}
	subcommands[c.name] = c
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: warden COMMAND [ARGS...]\n\ncommands:")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, subcommands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	c, ok := subcommands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "warden: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	os.Exit(c.run(os.Args[2:]))
}
