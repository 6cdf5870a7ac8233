package sqlclient

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTableEscapesControlCharacters(t *testing.T) {
	var r Result
	if err := json.Unmarshal([]byte(`{"meta":[{"name":"kind","type":"String"},{"name":"n","type":"UInt64"}],"data":[["a\n| forged | row |\u001b[2J",3],["other",10]],"rows":2}`), &r); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Table(&b, &r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "\n") != 7 || !strings.Contains(out, `a\x0a| forged | row |\x1b[2J`) || !strings.Contains(out, "| other") || !strings.Contains(out, "2 row(s)") {
		t.Fatalf("table:\n%s", out)
	}
}
