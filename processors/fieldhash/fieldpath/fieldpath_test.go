package fieldpath

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		`resource.attributes["user.email"]`: `resource.attributes["user.email"]`,
		` attributes["a"]["b c"] `:          `attributes["a"]["b c"]`,
		`body`:                              `body`,
		`body["x"]`:                         `body["x"]`,
		`scope.attributes["k"]`:             `scope.attributes["k"]`,
	} {
		p, err := Parse(in)
		if err != nil || p.String() != want {
			t.Errorf("Parse(%q) = %q, %v", in, p.String(), err)
		}
	}
	for _, bad := range []string{`attributes`, `attrs["x"]`, `attributes[x]`, `attributes["x"`, `attributes[""]`, `body.x`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	a, _ := Parse(`attributes["m"]`)
	b, _ := Parse(`attributes["m"]["k"]`)
	c, _ := Parse(`resource.attributes["m"]`)
	if !Overlaps(a, b) || !Overlaps(b, a) || Overlaps(a, c) {
		t.Fatal("overlap")
	}
}
