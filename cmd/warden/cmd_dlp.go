package main

import (
	"os"

	"github.com/wardenhq/warden/dlp/dlpcli"
)

func init() {
	register(subcommand{
		name:    "dlp",
		summary: "scan files, stdin or JSON Lines records for secrets and personal data (dlp scan --help)",
		run: func(args []string) int {
			return dlpcli.Main(args, os.Stdin, os.Stdout, os.Stderr)
		},
	})
}
