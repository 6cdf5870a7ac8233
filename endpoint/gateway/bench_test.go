package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/internal/stubmodel"
	"github.com/wardenhq/warden/vault"
)

func prompt100KB(pii bool) string {
	var b strings.Builder
	// Room for a per-call nonce (see fresh), so the scan cache, which
	// serves resent history in real traffic, never answers here.
	b.WriteString(nonceSlot + " ")
	w := strings.Fields("the quarterly report shows revenue growth in the north region while costs in logistics rose because of fuel prices")
	for i := 0; b.Len() < 100<<10; i++ {
		b.WriteString(w[i%len(w)])
		b.WriteByte(' ')
		if pii && i == 5000 {
			b.WriteString("Employee SSN 536-22-8817 on file. ")
		}
	}
	return b.String()
}

const nonceSlot = "nonce-0000000000"

// fresh is body with a new nonce in its nonce slot: every call's prompt is
// text the gateway has not seen.
func fresh(body []byte, i int) []byte {
	out := bytes.Clone(body)
	j := bytes.Index(out, []byte(nonceSlot))
	copy(out[j+len("nonce-"):], fmt.Sprintf("%010d", i))
	return out
}

// BenchmarkGatewayChat100KB: one non-streamed Chat Completions call with a
// 100 KB prompt through the whole pipeline (DLP, policy, redaction) to an
// in-process stub; the cost of the stub and client is in it too.
func BenchmarkGatewayChat100KB(b *testing.B) { benchChat100KB(b, nil) }

// BenchmarkGatewayChat100KBEvent: the same with the model_call event as
// `warden gateway` runs it: bodies sealed (vault) and exported over OTLP
// (to a receiver that discards them). Its allocations per call include the
// event's, made off the request path.
func BenchmarkGatewayChat100KBEvent(b *testing.B) {
	ks, err := vault.InitDir(filepath.Join(b.TempDir(), "keys"))
	if err != nil {
		b.Fatal(err)
	}
	if err := ks.InitTenant("default"); err != nil {
		b.Fatal(err)
	}
	if _, _, err := ks.InitCustody(); err != nil {
		b.Fatal(err)
	}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer rcv.Close()
	sink, err := gateway.NewOTLPSink(context.Background(), rcv.URL, gateway.NewSealer(ks), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Shutdown(context.Background())
	benchChat100KB(b, sink)
	// The events of the measured calls are exported within the benchmark.
	if err := sink.ForceFlush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func benchChat100KB(b *testing.B, sink gateway.EventSink) {
	stub, _ := stubmodel.New(stubmodel.Options{DiscardBodies: true})
	defer stub.Close()
	cfg, err := gateway.ParseConfig(mustYAML(nil, stub.URL))
	if err != nil {
		b.Fatal(err)
	}
	det, dec := mustDepsB(b)
	gw, _ := gateway.New(cfg, gateway.Options{Detector: det, Decider: dec, Sink: sink})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"model": "gpt-5.1", "max_tokens": 256,
		"messages": []any{map[string]any{"role": "user", "content": prompt100KB(true)}}})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", bytes.NewReader(fresh(body, i)))
		req.Header.Set("Authorization", "Bearer warden-local")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkGatewayStreamTTFT100KB: time to the first content delta of a
// streamed Chat Completions call with a 100 KB prompt.
func BenchmarkGatewayStreamTTFT100KB(b *testing.B) {
	stub, _ := stubmodel.New(stubmodel.Options{DiscardBodies: true, Text: "Here is a short summary of the report."})
	defer stub.Close()
	cfg, err := gateway.ParseConfig(mustYAML(nil, stub.URL))
	if err != nil {
		b.Fatal(err)
	}
	det, dec := mustDepsB(b)
	gw, _ := gateway.New(cfg, gateway.Options{Detector: det, Decider: dec})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"model": "gpt-5.1", "max_tokens": 256, "stream": true,
		"messages": []any{map[string]any{"role": "user", "content": prompt100KB(true)}}})
	for _, target := range []string{"direct", "gateway"} {
		b.Run(target, func(b *testing.B) {
			u := srv.URL
			if target == "direct" {
				u = stub.URL
			}
			var total time.Duration
			i := 0
			for b.Loop() {
				i++
				req, _ := http.NewRequest("POST", u+"/v1/chat/completions", bytes.NewReader(fresh(body, i)))
				req.Header.Set("Authorization", "Bearer warden-local")
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err)
				}
				br := bufio.NewReader(resp.Body)
				for {
					l, err := br.ReadString('\n')
					if strings.Contains(l, `"content":"H`) {
						total += time.Since(start)
						break
					}
					if err != nil {
						b.Fatal("no content")
					}
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "ttft-µs")
		})
	}
}
