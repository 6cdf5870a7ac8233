package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardenhq/warden/vault"
)

func init() {
	register(subcommand{name: "keys", summary: "create, rotate and list tenant HMAC keys and the key-custody key pair", run: runKeys})
}

const keysUsage = `usage:
  warden keys init   [--dir DIR] [--tenant NAME]...
  warden keys rotate [--dir DIR] (--tenant NAME [--overlap DURATION] | --custody)
  warden keys list   [--dir DIR]

Keys live in DIR (default ./data/keys, mode 0700, files 0600). The collector
needs the tenant keys and custody/*.pub only; move custody/*.key to key custody.`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runKeys(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, keysUsage)
		return 2
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	dir := fs.String("dir", "./data/keys", "key directory")
	var tenants multiFlag
	fs.Var(&tenants, "tenant", "tenant name (repeatable for init)")
	overlap := fs.Duration("overlap", 30*24*time.Hour, "rotate: how long the previous tenant key is still written beside the new one")
	custody := fs.Bool("custody", false, "rotate: the key-custody key pair instead of a tenant key")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if err := keysCmd(args[0], *dir, tenants, *overlap, *custody); err != nil {
		fmt.Fprintln(os.Stderr, "warden keys:", err)
		return 1
	}
	return 0
}

func keysCmd(cmd, dir string, tenants []string, overlap time.Duration, custody bool) error {
	switch cmd {
	case "init":
		s, err := vault.InitDir(dir)
		if err != nil {
			return err
		}
		id, created, err := s.InitCustody()
		if err != nil {
			return err
		}
		fmt.Printf("custody key %s (%s)\n", id, map[bool]string{true: "created", false: "exists"}[created])
		for _, t := range tenants {
			if err := s.InitTenant(t); err != nil {
				return err
			}
			fmt.Printf("tenant %s: key v1 created\n", t)
		}
		return nil
	case "rotate":
		s, err := vault.OpenLocalStore(dir, vault.LocalOptions{})
		if err != nil {
			return err
		}
		if custody == (len(tenants) > 0) {
			return fmt.Errorf("rotate: give either --custody or --tenant NAME")
		}
		if custody {
			id, err := s.RotateCustody()
			if err != nil {
				return err
			}
			fmt.Printf("custody key %s is now current (older key pairs are kept: their data keys still open)\n", id)
			return nil
		}
		for _, t := range tenants {
			v, err := s.RotateTenant(t, overlap)
			if err != nil {
				return err
			}
			fmt.Printf("tenant %s: key v%d is current; v%d is still written until %s\n", t, v, v-1, time.Now().Add(overlap).UTC().Format(time.RFC3339))
		}
		return nil
	case "list":
		s, err := vault.OpenLocalStore(dir, vault.LocalOptions{})
		if err != nil {
			return err
		}
		ks, err := s.List()
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "KIND\tNAME\tVERSION\tCURRENT\tCREATED\tOVERLAP UNTIL\tPRIVATE KEY HERE")
		for _, k := range ks {
			ver, ov, priv := "-", "-", "-"
			if k.Kind == "tenant-hmac" {
				ver = fmt.Sprint(k.Version)
				if !k.OverlapUntil.IsZero() {
					ov = k.OverlapUntil.Format(time.RFC3339)
				}
			} else {
				priv = fmt.Sprint(k.HasPrivate)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\t%s\t%s\n", k.Kind, k.Name, ver, k.Current, k.CreatedAt.Format(time.RFC3339), ov, priv)
		}
		return w.Flush()
	default:
		return fmt.Errorf("unknown subcommand %q\n%s", cmd, keysUsage)
	}
}
