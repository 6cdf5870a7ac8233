// Command driver measures LLM gateways against the same stub upstream:
// added latency (percentiles of the gateway minus the direct call, requests
// interleaved round-robin so every target sees the same machine noise),
// time-to-first-token overhead on streams, and throughput at a fixed
// concurrency. It speaks OpenAI Chat Completions, which every gateway under
// test proxies.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type target struct {
	name, url string
	hdr       http.Header
}

func main() {
	targets := flag.String("targets", "", "name=baseURL,... (first is the baseline)")
	stub := flag.String("stub", "", "stub base URL (for Portkey's custom host)")
	mode := flag.String("mode", "latency", "latency | ttft | throughput")
	n := flag.Int("n", 500, "measured requests per target (latency, ttft)")
	warm := flag.Int("warmup", 50, "warm-up requests per target")
	size := flag.Int("size", 100<<10, "prompt bytes")
	pii := flag.Bool("pii", true, "put one SSN in the prompt (Warden redacts it)")
	conc := flag.Int("c", 16, "concurrency (throughput)")
	dur := flag.Duration("d", 5*time.Second, "duration (throughput)")
	gap := flag.Duration("gap", 0, "latency, ttft: idle time after every call (0: back to back); a gateway's work after a call (its event) then ends before the next target's call, as it would while an agent reads the answer")
	samples := flag.String("samples", "", "latency, ttft: also write every measured call to this CSV file (target,nonce,start_unix_ns,duration_ns), to study the tail")
	flag.Parse()

	var ts []target
	for _, kv := range strings.Split(*targets, ",") {
		name, u, _ := strings.Cut(kv, "=")
		h := http.Header{"Content-Type": {"application/json"}}
		switch {
		case name == "portkey":
			h.Set("x-portkey-provider", "openai")
			h.Set("x-portkey-custom-host", *stub+"/v1")
			h.Set("Authorization", "Bearer sk-bench")
		case strings.HasPrefix(name, "warden"): // warden, warden-old (A/B runs)
			h.Set("Authorization", "Bearer warden-local")
		default:
			h.Set("Authorization", "Bearer sk-bench")
		}
		ts = append(ts, target{name, u, h})
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	cl := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	prompt := makePrompt(*size, *pii)

	switch *mode {
	case "otlpsink":
		// An OTLP/HTTP endpoint that accepts and drops everything, so the
		// gateway's telemetry path runs during the benchmark.
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-protobuf")
		})
		fmt.Println("listening", *stub)
		_ = http.ListenAndServe(*stub, nil)
	case "latency", "ttft":
		stream := *mode == "ttft"
		body := chatBody(prompt, stream)
		res := map[string][]time.Duration{}
		var csv *bufio.Writer
		if *samples != "" {
			f, err := os.Create(*samples)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer f.Close()
			csv = bufio.NewWriter(f)
			defer csv.Flush()
			fmt.Fprintln(csv, "target,nonce,start_unix_ns,duration_ns")
		}
		for i := 0; i < *warm+*n; i++ {
			for _, t := range ts {
				start := time.Now()
				d, err := one(cl, t, body, stream)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n", t.name, err)
					os.Exit(1)
				}
				if *gap > 0 {
					time.Sleep(*gap)
				}
				if i >= *warm {
					res[t.name] = append(res[t.name], d)
					if csv != nil {
						fmt.Fprintf(csv, "%s,%010x,%d,%d\n", t.name, nonce.Load()&(1<<40-1), start.UnixNano(), d.Nanoseconds())
					}
				}
			}
		}
		base := ts[0].name
		b50, b99 := pct(res[base], 50), pct(res[base], 99)
		what := "latency"
		if stream {
			what = "ttft"
		}
		for _, t := range ts {
			p50, p99 := pct(res[t.name], 50), pct(res[t.name], 99)
			fmt.Printf("%-8s %s p50=%7.3fms p99=%7.3fms  added p50=%7.3fms p99=%7.3fms  (n=%d, prompt=%dB)\n",
				t.name, what, ms(p50), ms(p99), ms(p50-b50), ms(p99-b99), len(res[t.name]), len(prompt))
		}
	case "throughput":
		body := chatBody(prompt, false)
		for _, t := range ts {
			var done, fail atomic.Int64
			stop := time.Now().Add(*dur)
			var wg sync.WaitGroup
			for range *conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(stop) {
						if _, err := one(cl, t, body, false); err != nil {
							fail.Add(1)
						} else {
							done.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			fmt.Printf("%-8s throughput %8.1f calls/s (c=%d, %s, prompt=%dB, errors=%d)\n",
				t.name, float64(done.Load())/dur.Seconds(), *conc, *dur, len(prompt), fail.Load())
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

var words = strings.Fields(`the quarterly report shows revenue growth in the north region while
costs in logistics rose because of fuel prices and the team proposes a new routing plan with
weekly reviews of supplier contracts please summarise the main risks and list next steps for
engineering finance and operations including deadlines owners and open questions`)

func makePrompt(size int, pii bool) string {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	placed := !pii
	for b.Len() < size {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
		if !placed && b.Len() > size/2 {
			b.WriteString("Employee SSN 536-22-8817 on file. ")
			placed = true
		}
	}
	return b.String()[:size]
}

// nonceMark is overwritten per request with a counter, so every prompt is
// new to the gateway (no cache can answer for it).
const nonceMark = "NONCE-0000000000"

func chatBody(prompt string, stream bool) []byte {
	b, _ := json.Marshal(map[string]any{"model": "gpt-5.1", "stream": stream, "max_tokens": 256,
		"messages": []any{map[string]any{"role": "user", "content": nonceMark + " " + prompt}}})
	return b
}

// nonce starts at a random 40-bit value: two driver runs in one benchmark
// (latency, then TTFT) must not send the same prompt text, or the second
// would be answered from Warden's scan cache.
var nonce = func() *atomic.Uint64 {
	var n atomic.Uint64
	n.Store(rand.Uint64() & (1<<40 - 1))
	return &n
}()

// unique copies a body template with a fresh nonce.
func unique(tmpl []byte) []byte {
	b := append([]byte(nil), tmpl...)
	if i := bytes.Index(b, []byte(nonceMark)); i >= 0 {
		copy(b[i:], fmt.Sprintf("NONCE-%010x", nonce.Add(1)&(1<<40-1)))
	}
	return b
}

// one sends a request and returns the full latency, or on a stream the
// time to the first content delta.
func one(cl *http.Client, t target, body []byte, stream bool) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, t.url+"/v1/chat/completions", bytes.NewReader(unique(body)))
	req.Header = t.hdr.Clone()
	start := time.Now()
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("status %d: %.300s", resp.StatusCode, b)
	}
	if !stream {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	br := bufio.NewReader(resp.Body)
	var ttft time.Duration
	for {
		line, err := br.ReadString('\n')
		if ttft == 0 && strings.HasPrefix(line, "data: ") && strings.Contains(line, `"content":"`) && !strings.Contains(line, `"content":""`) {
			ttft = time.Since(start)
		}
		if err != nil {
			break
		}
	}
	if ttft == 0 {
		return 0, fmt.Errorf("%s: no content delta in the stream", t.name)
	}
	return ttft, nil
}
