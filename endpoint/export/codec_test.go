package export

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/schema"
)

func sampleRecord() record {
	r := record{Event: endpoint.Event{
		Time: time.Date(2026, 11, 23, 14, 0, 0, 123456789, time.UTC), Name: schema.EndpointEventFileAccess,
		Kind: schema.KindFileAccess, Agent: "claude", AgentVersion: "2.0.1", SessionID: "abc",
		UserPseudonym: "ps1:v1:u", DevicePseudonym: "ps1:v1:d", PathPseudonym: "ps1:v1:/a/b",
		AccessMode: "read", DestHost: "::1", DestPort: 443, Denied: true, ExitCode: -3,
		ContentSHA256: "e3b0", RuleIDs: []string{"fs.read", "x"},
		Attrs: map[string]any{"endpoint.pid": int64(-42), "endpoint.comm": "grep", "b": true, "f": 1.5,
			"j": []any{"x", 1.0}},
	}}
	for i := range r.ID {
		r.ID[i] = byte(i * 7)
	}
	return r
}

// TestCodecRoundTrip: every field and attribute type survives the binary
// buffer encoding; JSON values of earlier versions still decode.
func TestCodecRoundTrip(t *testing.T) {
	r := sampleRecord()
	var got record
	if err := decodeRecord(appendRecord(nil, &r), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
	}
	empty := record{Event: endpoint.Event{Time: time.Unix(0, 0).UTC(), Name: "n"}}
	got = record{}
	if err := decodeRecord(appendRecord(nil, &empty), &got); err != nil || !reflect.DeepEqual(got, empty) {
		t.Errorf("empty event: %+v, %v", got, err)
	}
	legacy, _ := json.Marshal(r)
	got = record{}
	if err := decodeRecord(legacy, &got); err != nil || got.Event.PathPseudonym != r.Event.PathPseudonym || got.ID != r.ID {
		t.Errorf("legacy JSON value: %+v, %v", got, err)
	}
	if bin, js := len(appendRecord(nil, &r)), len(legacy); bin >= js {
		t.Errorf("binary value %d bytes, not smaller than JSON %d", bin, js)
	}
}

// TestCodecCorrupt: a truncated or altered value is an error, never a
// panic or a huge allocation.
func TestCodecCorrupt(t *testing.T) {
	r := sampleRecord()
	v := appendRecord(nil, &r)
	for n := range len(v) {
		var got record
		if err := decodeRecord(v[:n], &got); err == nil {
			t.Errorf("truncated to %d of %d bytes: no error", n, len(v))
		}
	}
	var got record
	if err := decodeRecord(append(append([]byte(nil), v...), 0), &got); err == nil {
		t.Error("trailing byte: no error")
	}
	bad := append([]byte(nil), v...)
	bad[0] = 0x7f
	if err := decodeRecord(bad, &got); err == nil {
		t.Error("unknown version byte: no error")
	}
	for i := 1; i < len(v); i++ { // every byte flipped: error or a value, never a panic
		b := append([]byte(nil), v...)
		b[i] ^= 0xff
		_ = decodeRecord(b, &record{})
	}
}
