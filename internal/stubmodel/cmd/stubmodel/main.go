// Command stubmodel runs the stub model server for scripts (fixture capture,
// manual runs): it prints its base URL on stdout and, with -log, appends one
// JSON line per request it received.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wardenhq/warden/internal/stubmodel"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	text := flag.String("text", "OK.", "response text")
	in := flag.Int64("input", stubmodel.DefaultUsage.InputTokens, "uncached input tokens per call")
	out := flag.Int64("output", stubmodel.DefaultUsage.OutputTokens, "output tokens per call")
	cr := flag.Int64("cache-read", stubmodel.DefaultUsage.CacheReadTokens, "cache read tokens per call")
	cw := flag.Int64("cache-write", stubmodel.DefaultUsage.CacheWriteTokens, "cache write (5m) tokens per call")
	cw1h := flag.Int64("cache-write-1h", 0, "cache write (1h) tokens per call")
	reasoning := flag.Int64("reasoning", 0, "reasoning tokens per call")
	tool := flag.String("tool", "", "answer the first call of a conversation with this tool")
	toolInput := flag.String("tool-input", "{}", "tool input (JSON, or raw input for custom_tool_call)")
	toolKind := flag.String("tool-kind", "", "OpenAI tool call kind: function_call or custom_tool_call")
	logPath := flag.String("log", "", "append one JSON line per request to this file")
	discard := flag.Bool("discard-bodies", false, "keep request bodies out of the request log (load benchmarks)")
	chunk := flag.Int("chunk", 0, "streamed text chunk size in bytes (default 8)")
	flag.Parse()

	opts := stubmodel.Options{Addr: *addr, Text: *text, Usage: &stubmodel.Usage{
		InputTokens: *in, OutputTokens: *out, CacheReadTokens: *cr, CacheWriteTokens: *cw,
		CacheWrite1hTokens: *cw1h, ReasoningTokens: *reasoning}, DiscardBodies: *discard, ChunkSize: *chunk}
	if *tool != "" {
		opts.ToolUse = &stubmodel.ToolUse{Name: *tool, Input: *toolInput, OpenAIKind: *toolKind}
	}
	s, err := stubmodel.New(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(s.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.Close()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		enc := json.NewEncoder(f)
		for _, r := range s.Requests() {
			_ = enc.Encode(map[string]any{"time": r.Time, "method": r.Method, "path": r.Path, "query": r.Query, "body_bytes": len(r.Body)})
		}
		f.Close()
	}
}
