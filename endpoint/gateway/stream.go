package gateway

import (
	"bufio"
	"bytes"
	"errors"
	json "github.com/goccy/go-json"
	"io"
	"net/http"
	"strings"
)

// sseEvent is one server-sent event as received: raw is forwarded verbatim
// unless the gateway had to change it.
type sseEvent struct {
	raw  []byte
	name string
	data []byte
}

// readEvent reads one event (lines up to a blank line). Lines end in \n or
// \r\n (Gemini uses \r\n).
func readEvent(br *bufio.Reader) (sseEvent, error) {
	var ev sseEvent
	var data [][]byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole.
			full := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if len(line) > 0 {
			ev.raw = append(ev.raw, line...)
			l := bytes.TrimRight(line, "\r\n")
			switch {
			case len(l) == 0:
				if len(ev.raw) > len(line) || len(data) > 0 {
					ev.data = bytes.Join(data, []byte("\n"))
					return ev, nil
				}
				ev.raw = ev.raw[:0] // stray blank line
			case bytes.HasPrefix(l, []byte("data:")):
				data = append(data, bytes.TrimPrefix(bytes.TrimPrefix(l, []byte("data:")), []byte(" ")))
			case bytes.HasPrefix(l, []byte("event:")):
				ev.name = strings.TrimSpace(string(l[len("event:"):]))
			}
		}
		if err != nil {
			ev.data = bytes.Join(data, []byte("\n"))
			if len(bytes.TrimSpace(ev.raw)) > 0 && err == io.EOF {
				// Last event without its blank line: still an event.
				ev.raw = append(ev.raw, '\n', '\n')
				return ev, nil
			}
			return ev, err
		}
	}
}

type heldEvent struct {
	raw     []byte
	end     int64 // stream text offset this event's text ends at
	textLen int64
	hasText bool
	// With restore on, an event whose text ends in the start of a
	// placeholder ("... [REDACTED_US_S") waits for the next text event of
	// the same field: the start moves there, so the whole placeholder is
	// restored in one event.
	carry   bool
	name    string
	doc     map[string]any
	tail    textRef
	tailLen int
}

// relayStream forwards an SSE response event by event. Each event's
// generated text goes through the stream scanner first; an event is held
// until the scanner says all text up to its end is safe (nothing sensitive
// can still start before it), then written and flushed at once. A finding
// of a blocking type (a private key) cuts the stream: the held events are
// dropped and the client gets an error event in its provider's format.
func (g *Gateway) relayStream(w http.ResponseWriter, resp *http.Response, api *apiKind, red Redactor, ev *CallEvent) *wardenError {
	fl, _ := w.(http.Flusher)
	copyHeaders(w.Header(), resp.Header)
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	if fl != nil {
		fl.Flush()
	}
	ss := g.o.Detector.NewStream(g.cfg.DLP.ResponseBlockTypes)
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var held []*heldEvent
	var off, seq int64
	var text strings.Builder
	firstText := true
	unflushed := false

	flush := func(safe int64) {
		n := 0
		for n < len(held) && held[n].end <= safe && !held[n].carry {
			h := held[n]
			_, _ = w.Write(h.raw)
			if h.hasText {
				ev.BytesForwarded += h.textLen
				if firstText {
					firstText = false
					ev.TTFTMS = float64(g.o.Now().Sub(ev.Start).Microseconds()) / 1000
				}
			}
			n++
		}
		if n > 0 {
			held = held[n:]
			unflushed = true
		}
		// Events the upstream has already sent go out in one write:
		// flushing each would cost a syscall and a wake-up of the client
		// per event while the next one is at hand (the role event before
		// the first text, say). Nothing written waits on the network
		// unflushed.
		if unflushed && fl != nil && !eventBuffered(br) {
			fl.Flush()
			unflushed = false
		}
	}
	cut := func(f Finding) *wardenError {
		ev.Status = "cut"
		ev.ResponseFindings[f.Type]++
		e := errf(http.StatusForbidden, "response_blocked",
			"the model's response contained a %s; Warden stopped the stream before it reached you", f.Type)
		_, _ = w.Write(streamErrorEvent(api, e, seq+1))
		if fl != nil {
			fl.Flush()
		}
		ev.Refusal = e.code
		return nil
	}
	check := func(fs []Finding) (Finding, bool) {
		for _, f := range fs {
			if g.blockTy[f.Type] {
				return f, true
			}
			ev.ResponseFindings[f.Type]++
		}
		return Finding{}, false
	}
	var curSafe int64
	ended := false         // the provider's terminal event was seen
	var carrier *heldEvent // the held event whose text ends in a placeholder's start
	drop := func() {       // give up the carry: the event goes out as it is
		if carrier != nil {
			carrier.carry = false
			carrier = nil
		}
	}
	for {
		e, err := readEvent(br)
		if len(e.raw) > 0 {
			h := &heldEvent{raw: e.raw, name: e.name}
			var doc map[string]any
			if len(e.data) > 0 && e.data[0] == '{' {
				d := json.NewDecoder(bytes.NewReader(e.data))
				d.UseNumber()
				if d.Decode(&doc) != nil {
					doc = nil
				}
			}
			if doc != nil {
				if s := num(doc["sequence_number"]); s > seq {
					seq = s
				}
				if u := usageBlock(api, doc); u != nil {
					mergeUsage(api, &ev.Usage, u)
				}
				changed := false
				texts := eventTexts(api, doc)
				if len(texts) == 0 && g.cfg.DLP.RestoreResponses && bytes.Contains(e.data, []byte("[REDACTED_")) {
					// An event repeating text already streamed (Responses'
					// output_text.done, output_item.done, response.completed):
					// scanned as deltas, restored here as a whole.
					for _, t := range walkText(doc, "response", "", nil) {
						if out, ok := red.Restore(t.get()); ok {
							t.set(out)
							changed = true
						}
					}
				}
				for _, t := range texts {
					s := t.get()
					text.WriteString(s)
					off += int64(len(s))
					ev.BytesScanned += int64(len(s))
					h.textLen += int64(len(s))
					fs, sf := ss.Write(s)
					curSafe = sf
					if f, bad := check(fs); bad {
						return cut(f)
					}
					h.hasText = true
					if !g.cfg.DLP.RestoreResponses {
						continue
					}
					if carrier != nil {
						if carrier.tail.key != t.key {
							drop()
						} else {
							// Move the placeholder's start here.
							prev := carrier.tail.get()
							head := prev[len(prev)-carrier.tailLen:]
							carrier.tail.set(prev[:len(prev)-carrier.tailLen])
							carrier.raw = reencodeEvent(carrier.name, carrier.doc)
							carrier.textLen -= int64(len(head))
							h.textLen += int64(len(head))
							s = head + s
							t.set(s)
							changed = true
							drop()
						}
					}
					if out, ok := red.Restore(s); ok {
						s = out
						t.set(out)
						changed = true
					}
					if n := red.PartialPlaceholder(s); n > 0 && carrier == nil {
						h.carry, h.doc, h.tail, h.tailLen = true, doc, t, n
						carrier = h
					}
				}
				if changed {
					h.raw = reencodeEvent(e.name, doc)
				}
			}
			if !ended {
				ended = endsResponse(api, e, doc)
			}
			h.end = off
			held = append(held, h)
			// An event without text (usage, ping, stop) goes out as soon
			// as everything before it has.
			flush(curSafe)
		}
		if err != nil {
			drop() // no further event will complete it
			// After the provider's last event, a broken connection (the
			// agent hanging up once it has the whole answer, which cancels
			// the upstream read) ends the stream like EOF.
			if err != io.EOF && !ended {
				ev.Status = "error"
				if f, bad := check(ss.Close()); bad {
					return cut(f)
				}
				e := errf(http.StatusBadGateway, "upstream_error", "the %s stream broke off: %v", api.provider, err)
				flush(off)
				_, _ = w.Write(streamErrorEvent(api, e, seq+1))
				if fl != nil {
					fl.Flush()
				}
				break
			}
			if f, bad := check(ss.Close()); bad {
				return cut(f)
			}
			flush(off)
			break
		}
	}
	g.price(ev)
	if text.Len() > 0 {
		ev.Messages = append(ev.Messages, Message{Role: "assistant", Part: "response", Text: text.String()})
	}
	return nil
}

func reencodeEvent(name string, doc map[string]any) []byte {
	var buf bytes.Buffer
	if name != "" {
		buf.WriteString("event: " + name + "\n")
	}
	buf.WriteString("data: ")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(doc)
	buf.Truncate(buf.Len() - 1)
	buf.WriteString("\n\n")
	return buf.Bytes()
}

// eventBuffered reports whether br already holds a whole further event, so
// reading it will not wait on the network.
func eventBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := br.Peek(n)
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n"))
}

// endsResponse reports whether e is the provider's last event of a
// response: Chat Completions' [DONE], Anthropic's message_stop, the
// Responses API's response.completed / failed / incomplete, a Gemini
// candidate with a finishReason.
func endsResponse(api *apiKind, e sseEvent, doc map[string]any) bool {
	switch api.base() {
	case apiChat:
		return string(bytes.TrimSpace(e.data)) == "[DONE]"
	case apiAnthropic:
		t, _ := doc["type"].(string)
		return e.name == "message_stop" || t == "message_stop"
	case apiResponses:
		switch t, _ := doc["type"].(string); t {
		case "response.completed", "response.failed", "response.incomplete":
			return true
		}
	case apiGemini:
		cands, _ := doc["candidates"].([]any)
		for _, c := range cands {
			if r, _ := obj(c)["finishReason"].(string); r != "" {
				return true
			}
		}
	}
	return false
}
