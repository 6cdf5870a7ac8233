package corpus

import (
	"encoding/base64"
	"fmt"
	"strings"
)

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

var words = strings.Fields(`the a deploy build service request response agent model tool call result file
function error retry cache queue worker cluster node pod config update check run test fix
please can you help me with why does this fail after upgrade review summary plan step next
user customer account order invoice report data table column query index migration schema
latency timeout token budget context window prompt answer explain refactor rename move delete
é ü ñ — “quoted” naïve café résumé 🙂 ✅ 日本 über`)

func (g gen) sentence() string {
	n := 6 + g.n(12)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = words[g.n(len(words))]
	}
	s := strings.Join(ws, " ")
	return strings.ToUpper(s[:1]) + s[1:] + g.pick(".", "?", ".", "!")
}

func (g gen) filler(kind string) string {
	switch kind {
	case "env":
		return g.pick("NODE_ENV=production", "PORT=3000", "LOG_LEVEL=debug", "# "+g.sentence(), "FEATURE_FLAGS=search,beta", "TZ=UTC", "WORKERS=4")
	case "yaml":
		return g.pick("replicas: 3", "image: ghcr.io/acme/api:1.4.2", "# "+g.sentence(), "timeout: 30s", "enabled: true", "region: eu-west-1")
	case "json", "jsonmin", "tool_result":
		return g.pick(`"status": "ok"`, `"count": 42`, `"model": "claude-sonnet-4"`, `"note": "`+g.sentence()+`"`, `"retries": 3`, `"region": "us-east-1"`)
	case "shell":
		return g.pick("$ ls -la", "total 48", "$ git status", "On branch main", "$ npm test", "PASS  src/app.test.ts (2.1 s)", "$ kubectl get pods", "api-7d9f8c6b5-x2k9p   1/1     Running   0          3h")
	case "python":
		return g.pick("import os", "def handler(event, context):", "    return {\"statusCode\": 200}", "# "+g.sentence(), "logger = logging.getLogger(__name__)", "for i in range(10):")
	case "javascript":
		return g.pick("import express from 'express';", "// "+g.sentence(), "app.listen(3000);", "export default router;", "const items = await db.query(sql);")
	case "log":
		return fmt.Sprintf("2025-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s", 1+g.n(12), 1+g.n(28), g.n(24), g.n(60), g.n(60), g.n(1000), g.pick("INFO", "WARN", "DEBUG"), g.sentence())
	case "table":
		return "| " + g.pick("note", "status", "team") + " | " + g.sentence() + " |"
	case "http":
		return g.pick("Accept: application/json", "User-Agent: claude-cli/1.0.51", "Content-Type: application/json", "Host: api.internal")
	}
	return g.sentence()
}

// render writes items in kind's syntax, labelling positives.
func render(b *builder, g gen, kind string, items []item, filler int) {
	fill := func() {
		if filler <= 0 {
			return
		}
		for k := g.n(2 * filler); k > 0; k-- {
			line := g.filler(kind)
			switch kind {
			case "json", "jsonmin", "tool_result":
				// JSON kinds take their filler as fields below.
				continue
			case "prompt":
				b.t(line + " ")
			default:
				b.t(line + "\n")
			}
		}
	}
	switch kind {
	case "json":
		b.t("{\n")
		for i, it := range items {
			if i > 0 {
				b.t(",\n")
			}
			for k := g.n(2*filler + 1); filler > 0 && k > 0; k-- {
				b.t("  " + g.filler(kind) + ",\n")
			}
			b.t(`  "` + it.key + `": "`)
			b.v(it.typ, jsonEscape(it.val))
			b.t(`"`)
		}
		b.t("\n}\n")
		return
	case "jsonmin":
		b.t(`{"object":"list","data":[`)
		for i, it := range items {
			if i > 0 {
				b.t(",")
			}
			b.t(`{"id":` + fmt.Sprint(i) + `,`)
			for k := g.n(2*filler + 1); filler > 0 && k > 0; k-- {
				b.t(g.filler(kind) + ",")
			}
			b.t(`"` + it.key + `":"`)
			b.v(it.typ, jsonEscape(it.val))
			b.t(`"}`)
		}
		b.t("]}\n")
		return
	case "tool_result":
		b.t(`{"type":"tool_result","tool_use_id":"toolu_` + g.str(alnum, 24) + `","content":"{`)
		for i, it := range items {
			if i > 0 {
				b.t(`, `)
			}
			for k := g.n(2*filler + 1); filler > 0 && k > 0; k-- {
				b.t(jsonEscape(g.filler(kind)) + ", ")
			}
			b.t(`\"` + it.key + `\": \"`)
			b.v(it.typ, jsonEscape(jsonEscape(it.val)))
			b.t(`\"`)
		}
		b.t(`}"}` + "\n")
		return
	}
	for _, it := range items {
		fill()
		switch kind {
		case "env":
			renderEnv(b, g, it)
		case "yaml":
			renderYAML(b, g, it)
		case "prompt":
			renderProse(b, g, it)
		case "shell":
			renderShell(b, g, it)
		case "python":
			renderPython(b, g, it)
		case "javascript":
			renderJS(b, g, it)
		case "log":
			renderLog(b, g, it)
		case "table":
			b.t("| " + it.key + " | ")
			if it.pem != nil {
				b.v(it.typ, jsonEscape(it.val))
			} else {
				b.v(it.typ, it.val)
			}
			b.t(" | " + g.pick("prod", "staging", "n/a") + " |\n")
		case "http":
			renderHTTP(b, g, it)
		case "xml":
			renderXML(b, g, it)
		case "toml":
			renderTOML(b, g, it)
		case "csv":
			renderCSV(b, g, it)
		case "chat":
			renderChat(b, g, it)
		}
	}
	fill()
}

func envKey(k string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(k))
}

func renderEnv(b *builder, g gen, it item) {
	k := envKey(it.key)
	if g.chance(0.3) {
		b.t("export ")
	}
	if it.pem != nil {
		b.t(k + `="`)
		b.v(it.typ, strings.ReplaceAll(it.val, "\n", `\n`))
		b.t("\"\n")
		return
	}
	q := g.pick("", `"`, "'")
	if strings.ContainsAny(it.val, " ${}*<>") && q == "" {
		q = `"`
	}
	b.t(k + "=" + q)
	b.v(it.typ, it.val)
	b.t(q + "\n")
}

func renderYAML(b *builder, g gen, it item) {
	ind := g.pick("", "  ", "    ")
	if ind != "" {
		b.t(g.pick("database:", "auth:", "stringData:", "env:", "secrets:") + "\n")
	}
	if it.pem != nil {
		b.t(ind + it.key + ": |\n")
		in := ind + "  "
		st := b.sb.Len() + len(in)
		b.t(in + "-----BEGIN " + it.lbl + "-----\n")
		for _, l := range it.pem {
			b.t(in + l + "\n")
		}
		b.t(in + "-----END " + it.lbl + "-----")
		b.labels = append(b.labels, Label{Type: it.typ, Start: st, End: b.sb.Len()})
		b.t("\n")
		return
	}
	q := g.pick("", `"`, "'")
	if q == "" && strings.ContainsAny(it.val, "{}*#&!%@`|>[],") {
		q = `"`
	}
	b.t(ind + it.key + ": " + q)
	if q == `"` {
		b.v(it.typ, jsonEscape(it.val))
	} else {
		b.v(it.typ, it.val)
	}
	b.t(q + "\n")
}

func renderProse(b *builder, g gen, it item) {
	v := func() {
		if it.pem != nil {
			b.t("\n```\n")
			b.v(it.typ, it.val)
			b.t("\n```\n")
			return
		}
		b.v(it.typ, it.val)
	}
	switch it.typ {
	case "generic_password":
		if isPasswordKey(it.key) {
			b.t(g.pick("My ", "Hi! The ", "fyi the ") + it.key + " is ")
			v()
			b.t(g.pick(" but login still fails. ", " — can you check? ", ", thanks! "))
		} else {
			b.t(g.pick("I set ", "Config has ") + it.key + "=")
			v()
			b.t(g.pick(" and it returns 401. ", " in the container. "))
		}
	case "us_ssn":
		b.t(g.pick("Customer José García, SSN ", "Her social security number is ", "Applicant ("))
		v()
		b.t(g.pick(", asked about the claim. ", " — please verify. ", ") was approved. "))
	case "credit_card":
		b.t(g.pick("The card ", "Charge card number ", "Payment with "))
		v()
		b.t(g.pick(" was declined. ", " failed 3DS. ", " expires 09/27. "))
	case "iban":
		b.t(g.pick("Please wire the refund to ", "Payout IBAN: ", "Bank account "))
		v()
		b.t(g.pick(" by Friday. ", ". ", " (Sparkasse). "))
	case "email":
		b.t(g.pick("Send the report to ", "cc ", "Contact: "))
		v()
		b.t(g.pick(" when done. ", ", ", " please. "))
	case "phone_number":
		b.t(g.pick("Call me at ", "His mobile is ", "Phone: "))
		v()
		b.t(g.pick(" after 5pm. ", ". ", " (office). "))
	case "aws_secret_access_key":
		b.t("I ran `aws configure` with " + it.key + " = ")
		v()
		b.t(" and still get AccessDenied. ")
	case "":
		b.t(g.pick("Note: "+it.key+" is ", "the "+it.key+" was ", it.key+": "))
		b.v("", it.val)
		b.t(g.pick(". ", " in the logs. ", "? "))
	default:
		b.t(g.pick("Here is my "+strings.ToLower(it.key)+": ", "Why does this key fail? ", "Using ", "Token: "))
		v()
		b.t(g.pick(" — it worked yesterday. ", " ", ". Any idea? "))
	}
}

func isPasswordKey(k string) bool {
	l := strings.ToLower(k)
	return strings.Contains(l, "pass") || strings.Contains(l, "pwd")
}

func renderShell(b *builder, g gen, it item) {
	switch {
	case it.pem != nil:
		b.t("$ cat ~/.ssh/" + g.pick("id_rsa", "id_ed25519", "deploy.pem") + "\n")
		b.v(it.typ, it.val)
		b.t("\n")
	case it.typ == "db_connection_string":
		b.t(`$ psql "`)
		b.v(it.typ, it.val)
		b.t("\" -c 'select 1'\n")
	case it.typ == "jwt" || (it.typ == "generic_password" && !isPasswordKey(it.key)):
		b.t(`$ curl -s -H "Authorization: Bearer `)
		b.v(it.typ, it.val)
		b.t("\" https://api.internal/v1/me\n")
	case it.typ == "generic_password":
		b.t("$ mysql -h db.internal -u root --password=")
		b.v(it.typ, it.val)
		b.t(" shop\n")
	default:
		b.t(g.pick("$ export ", "declare -x ", "") + envKey(it.key) + "=")
		if strings.ContainsAny(it.val, " ${}*<>") {
			b.t(`"`)
			b.v(it.typ, it.val)
			b.t(`"`)
		} else {
			b.v(it.typ, it.val)
		}
		b.t("\n")
	}
}

func renderPython(b *builder, g gen, it item) {
	if it.pem != nil {
		b.t(envKey(it.key) + ` = """`)
		b.v(it.typ, it.val)
		b.t("\"\"\"\n")
		return
	}
	switch g.n(3) {
	case 0:
		b.t(envKey(it.key) + ` = "`)
		b.v(it.typ, jsonEscape(it.val))
		b.t("\"\n")
	case 1:
		b.t(`config["` + it.key + `"] = '`)
		b.v(it.typ, it.val)
		b.t("'\n")
	default:
		b.t(`    ` + strings.ToLower(strings.ReplaceAll(it.key, "-", "_")) + `="`)
		b.v(it.typ, jsonEscape(it.val))
		b.t("\",\n")
	}
}

func renderJS(b *builder, g gen, it item) {
	if it.pem != nil {
		b.t("const " + camel(it.key) + " = `")
		b.v(it.typ, it.val)
		b.t("`;\n")
		return
	}
	if g.chance(0.5) {
		b.t("const " + camel(it.key) + " = '")
		b.v(it.typ, it.val)
		b.t("';\n")
	} else {
		b.t("  " + camel(it.key) + `: "`)
		b.v(it.typ, jsonEscape(it.val))
		b.t("\",\n")
	}
}

func camel(k string) string {
	parts := strings.FieldsFunc(strings.ToLower(k), func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	s := strings.Join(parts, "")
	if s == "" {
		return "v"
	}
	return s
}

func renderLog(b *builder, g gen, it item) {
	b.t(fmt.Sprintf("2025-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s ", 1+g.n(12), 1+g.n(28), g.n(24), g.n(60), g.n(60), g.n(1000),
		g.pick("INFO", "DEBUG", "WARN", "ERROR"), g.pick("auth", "billing", "agent.tool", "http")))
	if it.pem != nil || strings.ContainsAny(it.val, " ") || g.chance(0.4) {
		b.t(strings.ToLower(strings.ReplaceAll(it.key, "-", "_")) + `="`)
		b.v(it.typ, jsonEscape(it.val))
		b.t("\"\n")
		return
	}
	b.t(strings.ToLower(strings.ReplaceAll(it.key, "-", "_")) + "=")
	b.v(it.typ, it.val)
	b.t(" status=" + g.pick("200", "401", "500") + "\n")
}

func renderHTTP(b *builder, g gen, it item) {
	switch {
	case it.pem != nil:
		b.t("\n{\"" + it.key + "\": \"")
		b.v(it.typ, jsonEscape(it.val))
		b.t("\"}\n")
	case it.typ == "jwt" || (it.typ == "generic_password" && !isPasswordKey(it.key)):
		b.t("Authorization: Bearer ")
		b.v(it.typ, it.val)
		b.t("\n")
	default:
		b.t(it.key + ": ")
		b.v(it.typ, it.val)
		b.t("\n")
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// renderXML: Maven settings.xml / .NET config style, as elements or
// attributes.
func renderXML(b *builder, g gen, it item) {
	tag := camel(it.key)
	if it.typ != "" && strings.ContainsAny(it.val, "&<>\"") {
		// Escaped values would not be the literal secret; keep this draw
		// as an element with a plain value instead.
		tag = camel(it.key)
	}
	if it.pem != nil || g.chance(0.6) {
		b.t(g.pick("  ", "    ", "") + "<" + tag + ">")
		b.v(it.typ, it.val)
		b.t("</" + tag + ">\n")
		return
	}
	b.t(`  <add key="` + it.key + `" value="`)
	b.v(it.typ, it.val)
	b.t(`"/>` + "\n")
}

func renderTOML(b *builder, g gen, it item) {
	if g.chance(0.3) {
		b.t("[" + g.pick("database", "server", "auth", "tool.agent") + "]\n")
	}
	k := strings.ToLower(strings.ReplaceAll(it.key, "-", "_"))
	if it.pem != nil {
		b.t(k + ` = """` + "\n")
		b.v(it.typ, it.val)
		b.t("\n\"\"\"\n")
		return
	}
	q := g.pick(`"`, "'")
	b.t(k + " = " + q)
	if q == `"` {
		b.v(it.typ, jsonEscape(it.val))
	} else {
		b.v(it.typ, it.val)
	}
	b.t(q + "\n")
}

// renderCSV: a customer export. Keyless values sit in their own column;
// values that need a key to be recognised carry it in the cell.
func renderCSV(b *builder, g gen, it item) {
	name := strings.ToUpper(firstNames[g.n(len(firstNames))][:1]) + firstNames[g.n(len(firstNames))][1:] + " " + strings.ToUpper(lastNames[g.n(len(lastNames))][:1]) + lastNames[g.n(len(lastNames))][1:]
	b.t(fmt.Sprintf("%d,%s,", 1000+g.n(9000), name))
	switch {
	case it.pem != nil:
		b.t(`"`)
		b.v(it.typ, strings.ReplaceAll(it.val, "\n", `\n`))
		b.t(`"`)
	case it.typ == "generic_password" || it.typ == "aws_secret_access_key" || it.typ == "":
		b.t(`"` + it.key + "=")
		b.v(it.typ, it.val)
		b.t(`"`)
	default:
		b.v(it.typ, it.val)
	}
	b.t("," + g.pick("active", "churned", "trial") + "\n")
}

// renderChat: a transcript where the user pastes snippets in code fences.
func renderChat(b *builder, g gen, it item) {
	b.t(g.pick("User: ", "**user**: ", "Human: "))
	switch g.n(3) {
	case 0:
		b.t(g.pick("here's my .env, what's wrong?", "config below", "this fails on CI:") + "\n```\n")
		renderEnv(b, g, it)
		b.t("```\n")
	case 1:
		b.t(g.pick("the tool returned", "got this back") + ":\n```json\n{\"" + it.key + "\": \"")
		b.v(it.typ, jsonEscape(it.val))
		b.t("\"}\n```\n")
	default:
		renderProse(b, g, it)
		b.t("\n")
	}
	b.t(g.pick("Assistant: ", "**assistant**: ") + g.sentence() + "\n")
}
