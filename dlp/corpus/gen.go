// Package corpus generates Warden's labelled DLP test corpus: realistic
// agent payloads (prompts, .env files, shell sessions, JSON tool results,
// code, logs, YAML, HTTP headers, tables) with exact-span labels for every
// finding type and at least as many hard negatives (UUIDs, hashes, base64
// blobs, Luhn-invalid numbers, invalid SSNs, versions, documented example
// keys, placeholders, masked cards).
//
// Everything is synthesised from publicly documented formats and is
// deterministic for a seed. Labels are byte offsets into Doc.Text, End
// exclusive, covering the value only (as dlp.Finding does).
package corpus

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Label is one expected finding.
type Label struct {
	Type  string `json:"type"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Doc is one payload.
type Doc struct {
	ID     string  `json:"id"`
	Kind   string  `json:"kind"`
	Text   string  `json:"text"`
	Labels []Label `json:"labels"`
	// Negatives counts the hard negatives planted in Text.
	Negatives int `json:"negatives"`
}

// Options tune the mix.
type Options struct {
	// Filler is the mean number of filler lines/sentences between items.
	// 0 gives dense payloads (about one finding per 250 bytes), 20 or more
	// typical traffic.
	Filler int
	// MinItems/MaxItems bound the positives per document.
	MinItems, MaxItems int
}

// Types lists the finding types, in dlp's order.
var Types = []string{
	"aws_access_key_id", "aws_secret_access_key", "github_token", "gitlab_token", "slack_token",
	"stripe_key", "google_api_key", "openai_api_key", "anthropic_api_key", "jwt", "private_key",
	"generic_password", "db_connection_string", "us_ssn", "credit_card", "iban", "email", "phone_number",
}

type builder struct {
	sb     strings.Builder
	labels []Label
	negs   int
}

func (b *builder) t(s string) { b.sb.WriteString(s) }
func (b *builder) v(typ, s string) {
	st := b.sb.Len()
	b.sb.WriteString(s)
	if typ != "" {
		b.labels = append(b.labels, Label{Type: typ, Start: st, End: b.sb.Len()})
	} else {
		b.negs++
	}
}

// item is one value to place: typ "" marks a hard negative.
type item struct {
	typ string
	key string
	val string
	// pem holds a private key's lines (val is then the raw block).
	pem []string
	lbl string
}

var kinds = []string{"env", "yaml", "json", "jsonmin", "tool_result", "prompt", "shell", "python", "javascript", "log", "table", "http", "xml", "toml", "csv", "chat"}

// Generate returns n documents for seed.
func Generate(seed uint64, n int, o Options) []Doc {
	if o.MaxItems == 0 {
		o.MinItems, o.MaxItems = 2, 5
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := gen{r}
	docs := make([]Doc, 0, n)
	for i := 0; i < n; i++ {
		kind := kinds[r.IntN(len(kinds))]
		np := o.MinItems + r.IntN(o.MaxItems-o.MinItems+1)
		var items []item
		for k := 0; k < np; k++ {
			// Cycle through the types so each is well represented.
			items = append(items, g.positive(Types[(i*7+k)%len(Types)], kind))
		}
		nn := np + r.IntN(3)
		for k := 0; k < nn; k++ {
			items = append(items, g.negative(kind))
		}
		r.Shuffle(len(items), func(a, b int) { items[a], items[b] = items[b], items[a] })
		b := &builder{}
		render(b, g, kind, items, o.Filler)
		docs = append(docs, Doc{ID: fmt.Sprintf("doc-%d-%06d", seed, i), Kind: kind, Text: b.sb.String(), Labels: b.labels, Negatives: b.negs})
	}
	return docs
}

var keyNames = map[string][]string{
	"aws_access_key_id":     {"AWS_ACCESS_KEY_ID", "aws_access_key_id", "AccessKeyId", "accessKeyId"},
	"aws_secret_access_key": {"AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "SecretAccessKey", "secretAccessKey"},
	"github_token":          {"GITHUB_TOKEN", "GH_TOKEN", "github_pat", "gh_auth"},
	"gitlab_token":          {"GITLAB_TOKEN", "CI_JOB_AUTH", "gitlab_pat", "private-token"},
	"slack_token":           {"SLACK_BOT_TOKEN", "slack_token", "SLACK_APP_TOKEN", "botToken"},
	"stripe_key":            {"STRIPE_SECRET_KEY", "stripe_key", "stripeApiKey", "STRIPE_KEY"},
	"google_api_key":        {"GOOGLE_API_KEY", "maps_key", "GEMINI_API_KEY", "firebaseKey"},
	"openai_api_key":        {"OPENAI_API_KEY", "openai_key", "OPENAI_KEY", "llm_key"},
	"anthropic_api_key":     {"ANTHROPIC_API_KEY", "anthropic_key", "CLAUDE_KEY", "x-api-key"},
	"jwt":                   {"id_token", "ACCESS_JWT", "session", "jwt"},
	"private_key":           {"private_key", "SSH_PRIVATE_KEY", "tls_key", "signingKey"},
	"db_connection_string":  {"DATABASE_URL", "dsn", "MONGO_URI", "connection_string"},
	"us_ssn":                {"ssn", "SSN", "social_security_number", "customer_ssn"},
	"credit_card":           {"card_number", "pan", "cc", "payment_card"},
	"iban":                  {"iban", "IBAN", "payout_account", "bank_iban"},
	"email":                 {"email", "contact", "reply_to", "owner"},
	"phone_number":          {"phone", "mobile", "tel", "contact_phone"},
}

var passwordKeys = []string{"password", "DB_PASSWORD", "db_password", "POSTGRES_PASSWORD", "smtp_password", "admin_passwd", "MYSQL_ROOT_PASSWORD", "userPassword", "passphrase", "keystore_password", "Password", "REDIS_PASSWORD"}
var secretKeys = []string{"client_secret", "api_token", "SECRET_KEY", "jwt_secret", "auth_token", "webhook_secret", "access_token", "API_KEY", "apiKey", "refresh_token", "app_secret", "SENTRY_AUTH_TOKEN"}

func (g gen) positive(typ, kind string) item {
	keys := keyNames[typ]
	it := item{typ: typ}
	if len(keys) > 0 {
		it.key = keys[g.n(len(keys))]
	}
	switch typ {
	case "aws_access_key_id":
		it.val = g.awsKeyID()
	case "aws_secret_access_key":
		it.val = g.awsSecret()
	case "github_token":
		it.val = g.githubToken()
	case "gitlab_token":
		it.val = g.gitlabToken()
	case "slack_token":
		it.val = g.slackToken()
	case "stripe_key":
		it.val = g.stripeKey()
	case "google_api_key":
		it.val = g.googleKey()
	case "openai_api_key":
		it.val = g.openaiKey()
	case "anthropic_api_key":
		it.val = g.anthropicKey()
	case "jwt":
		it.val = g.jwt()
	case "private_key":
		lbl, lines := g.pemKey()
		it.lbl, it.pem = lbl, lines
		it.val = "-----BEGIN " + lbl + "-----\n" + strings.Join(lines, "\n") + "\n-----END " + lbl + "-----"
	case "generic_password":
		if g.chance(0.6) {
			it.key = passwordKeys[g.n(len(passwordKeys))]
			it.val = g.password()
		} else {
			it.key = secretKeys[g.n(len(secretKeys))]
			it.val = g.opaqueSecret()
		}
	case "db_connection_string":
		it.val = g.dbURI()
	case "us_ssn":
		a, gr, s := g.ssnParts()
		it.val = a + "-" + gr + "-" + s
	case "credit_card":
		it.val = g.card()
	case "iban":
		it.val = g.iban()
	case "email":
		it.val = g.email()
	case "phone_number":
		it.val = g.phone()
	}
	return it
}

func (g gen) negative(kind string) item {
	neg := func(k, v string) item { return item{key: k, val: v} }
	switch g.n(34) {
	case 0:
		return neg(g.pick("request_id", "trace_id", "uuid", "session_id"), g.uuid())
	case 1:
		return neg(g.pick("commit", "sha", "revision"), g.str(hexCh, 40))
	case 2:
		return neg(g.pick("sha256", "checksum", "digest"), g.pick("", "sha256:")+g.str(hexCh, 64))
	case 3:
		return neg(g.pick("version", "release", "tag"), g.pick("v", "", "")+fmt.Sprintf("%d.%d.%d", g.n(20), g.n(40), g.n(200))+g.pick("", "-rc.1", "-beta.2", "+build.7"))
	case 4:
		return neg(g.pick("timestamp", "created_at", "ts"), fmt.Sprintf("2025-%02d-%02dT%02d:%02d:%02d.%03dZ", 1+g.n(12), 1+g.n(28), g.n(24), g.n(60), g.n(60), g.n(1000)))
	case 5:
		return neg(g.pick("epoch_ms", "updated", "expires"), fmt.Sprint(1700000000000+g.r.Int64N(90000000000)))
	case 6:
		return neg(g.pick("client_ip", "host_ip", "addr"), fmt.Sprintf("%d.%d.%d.%d", 10+g.n(200), g.n(256), g.n(256), g.n(256)))
	case 7:
		return neg(g.pick("order_id", "card_number", "reference"), g.luhnInvalidCard())
	case 8:
		return neg(g.pick("ssn", "SSN", "social_security_number"), g.invalidSSN())
	case 9:
		return neg(g.pick("card", "card_number", "pan"), g.pick("**** **** **** ", "XXXX-XXXX-XXXX-", "4111 **** **** ", "•••• ")+g.str(digits, 4))
	case 10:
		return neg(g.pick("iban", "IBAN"), g.ibanCompact(false))
	case 11:
		return neg("AWS_ACCESS_KEY_ID", g.pick("AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"))
	case 12:
		return neg("aws_secret_access_key", g.pick("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"))
	case 13:
		return neg(g.pick("password", "DB_PASSWORD", "db_password"), g.pick("${DB_PASSWORD}", "<password>", "********", "{{ .Values.db.password }}", "$POSTGRES_PASSWORD", "<your-password>"))
	case 14:
		return neg(g.pick("api_key", "OPENAI_API_KEY", "apiKey"), g.pick("your-api-key-here", "sk-...", "<YOUR_API_KEY>", "YOUR_API_KEY_HERE", "${OPENAI_API_KEY}"))
	case 15:
		return neg(g.pick("token", "id_token"), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
	case 16:
		return neg("STRIPE_SECRET_KEY", g.pick("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_BQokikJOvBiI2HlWgH4olfQ2"))
	case 17:
		return neg("GITHUB_TOKEN", g.githubBadChecksum())
	case 18:
		return neg(g.pick("GITHUB_TOKEN", "SLACK_BOT_TOKEN"), g.pick("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "xoxb-your-bot-token", "glpat-xxxxxxxxxxxxxxxxxxxx", "ghp_************************************"))
	case 19:
		return neg(g.pick("max_tokens", "input_tokens", "output_tokens", "password_min_length"), fmt.Sprint(16+g.n(8000)))
	case 20:
		return neg("token_type", g.pick("Bearer", "bearer", "refresh_token"))
	case 21:
		return neg(g.pick("data", "blob", "attachment", "image_b64"), g.b64blob())
	case 22:
		return neg(g.pick("repo", "remote", "origin"), "git@github.com:"+g.pick("acme", "wardenhq", "globex")+"/"+g.pick("api", "web", "infra")+".git")
	case 23:
		return neg(g.pick("icon", "asset", "logo"), g.pick("logo", "icon", "hero")+"@"+g.pick("2x", "3x")+".png")
	case 24:
		return neg(g.pick("dependency", "package"), g.pick("react", "lodash", "@types/node", "typescript")+"@"+fmt.Sprintf("%d.%d.%d", g.n(20), g.n(10), g.n(30)))
	case 25:
		return neg("DATABASE_URL", g.pick("postgres://localhost:5432/app", "postgres://app:${DB_PASSWORD}@db:5432/app", "mysql://root@127.0.0.1:3306/test", "redis://cache:6379/0", "mongodb://mongo:27017/app"))
	case 26:
		return neg(g.pick("duration", "latency", "elapsed"), fmt.Sprintf("%d.%03ds", g.n(100), g.n(1000)))
	case 27:
		return neg(g.pick("date", "dob_format", "day"), fmt.Sprintf("%04d-%02d-%02d", 1990+g.n(40), 1+g.n(12), 1+g.n(28)))
	case 28:
		return neg(g.pick("isbn", "sku"), fmt.Sprintf("978-%d-%02d-%06d-%d", g.n(10), g.n(100), g.n(1000000), g.n(10)))
	case 29:
		return neg(g.pick("phone", "ext"), g.pick("555-"+g.str(digits, 4), "1"+g.str(digits, 2)+"-"+g.str(digits, 3)+"-"+g.str(digits, 4), "x"+g.str(digits, 4)))
	case 30:
		return neg(g.pick("secret_name", "secretRef", "password_file"), g.pick("prod/db/credentials", "db-password", "/run/secrets/db_password", "vault:secret/data/app#password"))
	case 31:
		return neg(g.pick("port", "pid", "count", "status"), fmt.Sprint(g.n(70000)))
	case 32:
		return neg(g.pick("amount", "price", "total"), fmt.Sprintf("%d.%02d", g.n(100000), g.n(100)))
	default:
		return neg(g.pick("hash", "md5", "etag"), g.str(hexCh, 32))
	}
}

func (g gen) b64blob() string {
	for {
		s := b64std(g.randBytes(48 + g.n(120)))
		// A random blob can contain an anchor by chance; keep the negative
		// honest by skipping those rare draws.
		if !strings.Contains(s, "eyJ") && !strings.Contains(s, "AKIA") && !strings.Contains(s, "AIza") {
			return s
		}
	}
}

// jsonEscape returns s as the inside of a JSON string literal (no HTML
// escaping, as agents' JSON encoders write it).
func jsonEscape(s string) string {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(sb.String(), "\n")
	return out[1 : len(out)-1]
}
