package lakehousestore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/wardenhq/warden/schema"
)

// injection is the acceptance record's payload: blank lines, quotes,
// backslashes, NUL bytes, invalid UTF-8 and SQL text.
const injection = "a'b\"c\\d\n\n\nDROP TABLE events; INSERT INTO events (tenant) VALUES ('pwned');\x00nul\xff\xfe\xc3(\r\n\n"

func injectionEvent() schema.Event {
	return schema.Event{
		EventID: [16]byte{1, 2, 3, 0, 0, 0xff}, Tenant: "t1", TS: time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC),
		SchemaVersion: 1, Kind: schema.KindOther, Source: schema.SourceUnknown, EventName: injection,
		SessionID: injection, InputTokens: 7, CostUSD: 0.25,
		PromptRef:   []string{injection, ""},
		DLPFindings: map[string]uint32{"email": 2},
		Attributes:  map[string]string{"x": injection, injection: "k", "z": ""},
		RuleIDs:     []string{},
	}
}

func TestNativeInsertIsBinarySafeAndDeduplicated(t *testing.T) {
	conn := testConn(t)
	c, err := NewCodec(schema.EventsTable)
	if err != nil {
		t.Fatal(err)
	}
	ev := injectionEvent()
	ev2 := ev
	ev2.EventID[0] = 9
	ev2.Attributes = nil
	ev2.PromptRef = nil
	rows := []schema.Event{ev, ev2}
	data, err := c.EncodeNative(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "b.native")
	os.WriteFile(f, data, 0o600)
	for i := 0; i < 2; i++ { // same token twice: stored once
		if _, err := conn.InsertNativeFile("events", f, "tok_codec_1"); err != nil {
			t.Fatal(err)
		}
	}
	out, err := conn.Query("SELECT count() FROM events WHERE tenant='t1'", "TSV")
	if err != nil || strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("count = %q, %v (tables intact, no duplicate)", out, err)
	}
	out, err = conn.Query("SELECT hex(event_name), hex(session_id), hex(attributes['x']), hex(prompt_ref[1]), length(prompt_ref), dlp_findings['email'], hex(event_id) FROM events WHERE event_id = unhex('"+hex.EncodeToString(ev.EventID[:])+"')", "TSVRaw")
	if err != nil {
		t.Fatal(err)
	}
	f2 := strings.Split(strings.TrimSpace(string(out)), "\t")
	want := strings.ToUpper(hex.EncodeToString([]byte(injection)))
	if len(f2) != 7 || f2[0] != want || f2[1] != want || f2[2] != want || f2[3] != want || f2[4] != "2" || f2[5] != "2" {
		t.Fatalf("not byte-for-byte: %q", out)
	}
	// The map key holding the payload survived too.
	out, _ = conn.Query("SELECT hex(attributes['k']) FROM events LIMIT 0", "TSV")
	_ = out
	out, err = conn.Query("SELECT count() FROM events WHERE mapContains(attributes, unhex('"+hex.EncodeToString([]byte(injection))+"'))", "TSV")
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("payload as map key: %q %v", out, err)
	}
	out, _ = conn.Query("SELECT count() FROM events WHERE tenant = 'pwned'", "TSV")
	if strings.TrimSpace(string(out)) != "0" {
		t.Fatal("injected SQL executed")
	}
}

func TestParquetRowsRoundTripThroughChDB(t *testing.T) {
	conn := testConn(t)
	c, err := NewCodec(schema.EventsTable)
	if err != nil {
		t.Fatal(err)
	}
	ev := injectionEvent()
	ev2 := ev
	ev2.EventID[0] = 7
	ev2.Attributes, ev2.PromptRef, ev2.DLPFindings = nil, nil, nil
	prow, err := c.ParquetRows([]schema.Event{ev, ev2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, c.pq.Schema, parquet.Compression(schema.ZstdCodec))
	if _, err := w.WriteRows(prow); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(userFiles(t), "rt.parquet")
	os.WriteFile(f, buf.Bytes(), 0o600)
	out, err := conn.Query("SELECT hex(event_name), hex(attributes['x']), length(prompt_ref), hex(event_id), ts, dlp_findings['email'] FROM file('"+f+"', Parquet) ORDER BY event_id DESC", "TSVRaw")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := strings.ToUpper(hex.EncodeToString([]byte(injection)))
	if len(lines) != 2 {
		t.Fatalf("rows: %q", out)
	}
	first := strings.Split(lines[1], "\t")
	if first[0] != want || first[1] != want || first[2] != "2" || !strings.HasPrefix(first[3], "010203") || !strings.HasPrefix(first[4], "2026-11-23 10:00:00.123456") || first[5] != "2" {
		t.Fatalf("parquet round trip: %q", lines[1])
	}
	second := strings.Split(lines[0], "\t")
	if second[1] != "" || second[2] != "0" {
		t.Fatalf("empty map/list round trip: %q", lines[0])
	}
}

// The Native encoder's blocks decode back to the same rows (WAL replay
// depends on it) for every column kind, and encode deterministically: map
// keys in any iteration order give the same bytes, so a retried batch gets
// the same dedup token.
func TestNativeRoundTripAndDeterminism(t *testing.T) {
	ec, err := NewCodec(schema.EventsTable)
	if err != nil {
		t.Fatal(err)
	}
	ev := injectionEvent()
	ev.RuleIDs = []string{"r1", "r2", injection}
	ev.Attributes = map[string]string{}
	for i := 0; i < 40; i++ {
		ev.Attributes[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", i)
	}
	ev.Denied, ev.ExitCode, ev.DestPort, ev.PromptBytes = true, -9, 443, 1<<31
	ev2 := schema.Event{EventID: [16]byte{9}, Tenant: "t2", TS: ev.TS.Add(time.Hour), Kind: schema.KindExec, Attributes: nil}
	rows := []schema.Event{ev, ev2}
	first, err := ec.EncodeNative(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ { // Go randomizes map iteration per range
		again, _ := ec.EncodeNative(rows, nil)
		if !bytes.Equal(again, first) {
			t.Fatal("the same rows encoded to different bytes")
		}
	}
	back, err := ec.DecodeNative(first)
	if err != nil {
		t.Fatal(err)
	}
	got := back.([]schema.Event)
	ev2.Attributes, ev2.DLPFindings = map[string]string{}, map[string]uint32{}
	ev2.PromptRef, ev2.RuleIDs = []string{}, []string{}
	ev2.TS = ev2.TS.UTC()
	for i, want := range []schema.Event{ev, ev2} {
		if fmt.Sprintf("%#v", got[i]) != fmt.Sprintf("%#v", want) {
			t.Errorf("row %d:\n got %#v\nwant %#v", i, got[i], want)
		}
	}
	kc, err := NewCodec(schema.PromptKeysTable)
	if err != nil {
		t.Fatal(err)
	}
	keys := []schema.PromptKey{{Tenant: "t", Day: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), KeyID: "k1", KEM: "x", WrappedKey: []byte{0, 1, 0xff}, CreatedAt: time.Date(2026, 11, 23, 1, 2, 3, 4000, time.UTC)}}
	data, err := kc.EncodeNative(keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := kc.DecodeNative(data)
	if err != nil {
		t.Fatal(err)
	}
	if g := kb.([]schema.PromptKey)[0]; !bytes.Equal(g.WrappedKey, keys[0].WrappedKey) || !g.Day.Equal(keys[0].Day) || !g.CreatedAt.Equal(keys[0].CreatedAt) || g.KeyID != "k1" {
		t.Fatalf("prompt key round trip: %#v", g)
	}
}

// Malformed bytes (a truncated block, garbage) are an error, never a panic.
func TestDecodeNativeRejectsMalformed(t *testing.T) {
	c, err := NewCodec(schema.EventsTable)
	if err != nil {
		t.Fatal(err)
	}
	good, err := c.EncodeNative([]schema.Event{injectionEvent()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{{0xff}, good[:len(good)/2], append([]byte{3, 1}, good[2:]...), bytes.Repeat([]byte{0xff}, 64)} {
		if _, err := c.DecodeNative(bad); err == nil {
			t.Errorf("decoding %d malformed bytes succeeded", len(bad))
		}
	}
}

// A journal holds blocks appended one after another: they decode as one row
// slice, and a torn tail leaves the whole blocks before it (and says where
// they end).
func TestDecodeAppendedBlocksAndTornTail(t *testing.T) {
	c, err := NewCodec(schema.EventsTable)
	if err != nil {
		t.Fatal(err)
	}
	rows := benchEvents(700)
	var journal []byte
	var ends []int
	for _, part := range [][]schema.Event{rows[:1], rows[1:300], rows[300:]} {
		blk, err := c.EncodeNative(part, nil)
		if err != nil {
			t.Fatal(err)
		}
		journal = append(journal, blk...)
		ends = append(ends, len(journal))
	}
	got, err := c.DecodeNative(journal)
	if err != nil {
		t.Fatal(err)
	}
	ev := got.([]schema.Event)
	if len(ev) != 700 || ev[0].EventID != rows[0].EventID || ev[699].EventID != rows[699].EventID || ev[300].Model != rows[300].Model {
		t.Fatalf("appended blocks decoded to %d rows", len(ev))
	}
	if r, n, err := c.decodePrefix(nil); err != nil || n != 0 || len(r.([]schema.Event)) != 0 {
		t.Fatalf("empty journal: %v %d %v", r, n, err)
	}
	torn := journal[:ends[1]+(ends[2]-ends[1])/2]
	r, n, err := c.decodePrefix(torn)
	if err == nil || n != ends[1] || len(r.([]schema.Event)) != 300 {
		t.Fatalf("torn journal: %d rows, prefix %d (want 300 rows, prefix %d), err %v", len(r.([]schema.Event)), n, ends[1], err)
	}
}

// lowCardStr writes exactly the bytes ch-go's ColLowCardinality writes, for
// top-level, map-key and array LowCardinality columns, with runs, repeats
// and dictionaries past the 8-bit key width.
func TestLowCardMatchesChGo(t *testing.T) {
	c, err := NewCodec(schema.EventsTable)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 7, 300, 5000} {
		rows := benchEvents(n)
		for i := range rows {
			if i%3 == 0 {
				rows[i].Model = fmt.Sprintf("m%d", i) // > 256 distinct when n is large
			}
			if i%5 == 0 {
				rows[i].RuleIDs = []string{"r1", fmt.Sprintf("r%d", i%11), "r1"}
			}
		}
		rows[0].Attributes = nil
		base, stride, _, _ := c.rowsBase(rows)
		ours, err := c.newNativeCols(false)
		if err != nil {
			t.Fatal(err)
		}
		chgo, err := c.newNativeCols(true)
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.encodeWith(ours, base, stride, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.encodeWith(chgo, base, stride, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%d rows: lowCardStr block (%d B) differs from ch-go's (%d B)", n, len(a), len(b))
		}
		// Reused: a second, different batch through the same column set.
		rows2 := benchEvents(n)
		base2, _, _, _ := c.rowsBase(rows2)
		a2, _ := c.encodeWith(ours, base2, stride, n, nil)
		b2, _ := c.encodeWith(chgo, base2, stride, n, nil)
		if !bytes.Equal(a2, b2) {
			t.Fatalf("%d rows, reused column set: blocks differ", n)
		}
	}
}

// A failed request is cut back out of the journal: the file and its digest
// are what they were before it.
func TestJournalUndo(t *testing.T) {
	c, err := NewCodec(schema.EventsTable)
	if err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.EncodeNative(benchEvents(3), nil)
	if err := j.append(a, 3); err != nil {
		t.Fatal(err)
	}
	b, _ := c.EncodeNative(benchEvents(5), nil)
	if err := j.append(b, 5); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("the next table failed")
	if err := j.undo(int64(len(a)), cause); err != cause {
		t.Fatalf("undo: %v", err)
	}
	seg, token, err := j.seal(false)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(seg)
	sum := sha256.Sum256(a)
	if !bytes.Equal(data, a) || token != hex.EncodeToString(sum[:16]) {
		t.Fatalf("after undo the segment holds %d bytes (want %d), token %s", len(data), len(a), token)
	}
}
