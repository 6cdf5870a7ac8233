package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/wardenhq/warden/endpoint/gateway"
)

func init() {
	register(subcommand{name: "review", summary: "list, approve or deny gateway calls parked for review", run: runReview})
}

func runReview(args []string) int {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	def := os.Getenv("WARDEN_GATEWAY_ADMIN")
	if def == "" {
		def = gateway.DefaultAdminSocket
	}
	sock := fs.String("socket", def, "the gateway's admin socket (review.admin_socket)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: warden review [--socket PATH] list | approve ID | deny ID")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c := gateway.AdminClient(*sock)
	rest := fs.Args()
	switch {
	case len(rest) == 1 && rest[0] == "list":
		resp, err := c.Get("http://gateway/v1/reviews")
		if err != nil {
			fmt.Fprintln(os.Stderr, "warden review:", err)
			return 1
		}
		defer resp.Body.Close()
		var list []gateway.ReviewInfo
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			fmt.Fprintln(os.Stderr, "warden review:", err)
			return 1
		}
		if len(list) == 0 {
			fmt.Println("no calls waiting for review")
		}
		for _, r := range list {
			fmt.Printf("%s  user=%s agent=%s model=%s/%s findings=%v rules=%s expires=%s\n", r.ID, r.User, r.Agent,
				r.Provider, r.Model, r.Findings, strings.Join(r.RuleIDs, ","), r.Expires.Format("15:04:05"))
		}
		return 0
	case len(rest) == 2 && (rest[0] == "approve" || rest[0] == "deny"):
		resp, err := c.Post("http://gateway/v1/reviews/"+rest[1]+"/"+rest[0], "", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "warden review:", err)
			return 1
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b, _ := io.ReadAll(resp.Body)
			fmt.Fprintf(os.Stderr, "warden review: %s", b)
			return 1
		}
		fmt.Println(map[string]string{"approve": "approved", "deny": "denied"}[rest[0]], rest[1])
		return 0
	}
	fs.Usage()
	return 2
}
