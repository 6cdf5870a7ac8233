package genai

import (
	"encoding/hex"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wardenhq/warden/schema"
)

// Normalizer turns agent telemetry into canonical events in place. It holds
// no per-batch state and is safe for concurrent use.
type Normalizer struct {
	prices        *schema.PriceTable
	defaultTenant string
	preferPriced  bool
	spanCalls     bool
	maxMsg        int

	Stats Stats
}

// Stats are the normalizer's own counters (also exported as collector
// telemetry by the processor).
type Stats struct {
	Records  atomic.Int64 // records normalized (logs, spans, data points)
	Calls    atomic.Int64 // model_call records
	Unpriced atomic.Int64 // model_call records whose model is not in the price table
	Problems atomic.Int64 // records with a genai.problem
	Other    atomic.Int64 // records kept as kind=other
}

// NewNormalizer builds a normalizer; cfg must be valid.
func NewNormalizer(cfg *Config, prices *schema.PriceTable) *Normalizer {
	return &Normalizer{prices: prices, defaultTenant: cfg.DefaultTenant,
		preferPriced: cfg.CostPreference != costReported, spanCalls: cfg.SpanCalls, maxMsg: cfg.MaxMessageBytes}
}

// resInfo is what the resource says, computed once per resource.
type resInfo struct {
	v           view
	source      string
	agent       string
	version     string
	tenant      string
	hash        uint64
	user        string // resolved before the resource is changed
	device      string
	dept        string
	session     string
	commandArgs string // prompt-bearing argv moved off the resource
	argsPending bool   // commandArgs still to attach to a record
}

func sourceOfService(name string) string {
	switch {
	case name == "claude-code" || strings.HasPrefix(name, "claude-code"):
		return schema.SourceClaudeCode
	case strings.HasPrefix(name, "codex"):
		return schema.SourceCodex
	case name == "gemini-cli":
		return schema.SourceGeminiCLI
	case name == schema.EndpointServiceName:
		return schema.SourceWardenEndpoint
	case name == "warden-gateway":
		return schema.SourceWardenGateway
	}
	return ""
}

func agentOfSource(source, service string) string {
	switch source {
	case schema.SourceClaudeCode:
		return "claude-code"
	case schema.SourceCodex:
		return "codex"
	case schema.SourceGeminiCLI:
		return "gemini-cli"
	}
	return service
}

// prepareResource scans a resource once, moves prompt-bearing process
// arguments off it, and hashes it for event ids.
func (n *Normalizer) prepareResource(res pcommon.Resource, ri *resInfo) {
	attrs := res.Attributes()
	ri.v.reset()
	ri.v.scan(attrs)
	service := ri.v.str(kServiceName)
	ri.source = sourceOfService(service)
	ri.agent = agentOfSource(ri.source, service)
	ri.version = ri.v.str(kServiceVersion)
	if ri.source == schema.SourceGeminiCLI {
		// Gemini CLI's service.version is node's version, not the CLI's.
		ri.version = ""
	}
	ri.tenant = ri.v.str(kTenant)
	ri.user, ri.device, ri.session = ri.v.user(), ri.v.device(), ri.v.session()
	ri.dept = ri.v.firstStr(kWardenDept, kDepartment)
	d := xxhash.New()
	hashMap(d, attrs)
	ri.hash = d.Sum64()
	ri.commandArgs, ri.argsPending = "", false
	if ri.v.has[kCommandArgs] {
		// process.command_args holds the agent's argv, and `gemini -p PROMPT`
		// puts the prompt there: take it off the resource, attach it as a
		// message to the first record of the resource.
		val := ri.v.vals[kCommandArgs]
		if val.Type() == pcommon.ValueTypeSlice {
			var b strings.Builder
			for i := 0; i < val.Slice().Len(); i++ {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(val.Slice().At(i).AsString())
			}
			ri.commandArgs = b.String()
		} else {
			ri.commandArgs = val.AsString()
		}
		ri.argsPending = true
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool { return codeOf(k) == kCommandArgs })
		ri.v.has[kCommandArgs] = false
	}
}

// NormalizeLogs normalizes every log record in place. It never drops a
// record.
func (n *Normalizer) NormalizeLogs(ld plog.Logs) {
	var ri resInfo
	var rv view
	d := xxhash.New()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		n.prepareResource(rl.Resource(), &ri)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			scope := sl.Scope().Name()
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				n.normalizeLog(lrs.At(k), scope, k, &ri, &rv, d)
			}
		}
	}
}

// facts is what genai derives for one record before writing it back.
type facts struct {
	kind, source, eventName string
	callStyle               callStyle
	provider, model         string
	tokens                  schema.Tokens
	haveTokens              bool
	reported                float64
	haveReported            bool
	latency, ttft           float64
	haveLatency, haveTTFT   bool
	requestID, toolName     string
	status                  string

	// resolved from the record's attributes before any change to them
	tenant, user, device, dept, session, agentVersion string
	success, fileOp, plainModel                       string
}

// resolve reads every identity and per-kind string the writers need while
// the attribute handles in v are still valid (moving content out of the map
// shifts its entries).
func (n *Normalizer) resolve(f *facts, v *view, ri *resInfo) {
	f.tenant = v.str(kTenant)
	if f.tenant == "" {
		f.tenant = ri.tenant
	}
	if f.tenant == "" {
		f.tenant = n.defaultTenant
	}
	// Identity: record attributes first, then the resource (README).
	if f.user = v.user(); f.user == "" {
		f.user = ri.user
	}
	if f.device = v.device(); f.device == "" {
		f.device = ri.device
	}
	if f.dept = v.firstStr(kWardenDept, kDepartment); f.dept == "" {
		f.dept = ri.dept
	}
	if f.session = v.session(); f.session == "" {
		f.session = ri.session
	}
	if f.agentVersion = v.str(kAppVersion); f.agentVersion == "" {
		f.agentVersion = ri.version
	}
	if f.toolName == "" {
		f.toolName = v.str(kToolName)
	}
	f.success = v.str(kSuccess)
	f.fileOp = v.str(kFileOp)
	f.plainModel = v.firstStr(kModel, kRespModel, kReqModel)
}

type callStyle uint8

const (
	styleNone callStyle = iota
	styleAnthropic
	styleCodex
	styleGemini
	styleSemconv
)

func (n *Normalizer) normalizeLog(lr plog.LogRecord, scope string, idx int, ri *resInfo, v *view, d *xxhash.Digest) {
	n.Stats.Records.Add(1)
	attrs := lr.Attributes()
	v.reset()
	v.scan(attrs)
	var p problems

	// Event name: attribute event.name, else the LogRecord's EventName,
	// else a body that names the event (Claude Code: "claude_code.<name>").
	name := v.str(kEventName)
	body := lr.Body()
	if name == "" && body.Type() == pcommon.ValueTypeStr && isEventNameLike(body.Str()) {
		name = body.Str()
	}
	if name == "" && isEventNameLike(lr.EventName()) {
		name = lr.EventName()
	}
	source := v.str(kWardenSource)
	if source == "" {
		source = ri.source
	}
	if source == "" {
		source = sourceOfName(name, scope)
	}
	if source == schema.SourceClaudeCode && name != "" && !strings.HasPrefix(name, "claude_code.") && !strings.Contains(name, ".") {
		name = "claude_code." + name
	}
	if source == "" {
		source = schema.SourceUnknown
	}

	// Event id: deterministic from the source record, before any change.
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	if ts == 0 {
		if t, err := time.Parse(time.RFC3339Nano, v.str(kEventTimestamp)); err == nil {
			ts = pcommon.NewTimestampFromTime(t)
			lr.SetTimestamp(ts)
		} else {
			p.add("timestamp", "missing (no Timestamp, ObservedTimestamp or event.timestamp)")
		}
	}
	var id [16]byte
	haveID := false
	if v.has[kWardenEventID] {
		if val := v.vals[kWardenEventID]; val.Type() == pcommon.ValueTypeBytes && val.Bytes().Len() == 16 {
			haveID = true
		} else {
			p.add(aEventID, "not 16 bytes; replaced")
		}
	}
	if !haveID {
		d.Reset()
		d.WriteString(scope)
		writeUint(d, uint64(idx))
		writeUint(d, ri.hash)
		writeUint(d, uint64(lr.Timestamp()))
		writeUint(d, uint64(lr.ObservedTimestamp()))
		tid, sid := lr.TraceID(), lr.SpanID()
		d.Write(tid[:])
		d.Write(sid[:])
		hashValue(d, body)
		hashMap(d, attrs)
		id = eventID(uint64(ts), d.Sum64())
	}

	f := facts{source: source, eventName: name}
	n.classifyLog(&f, v, ri)
	if f.callStyle != styleNone {
		n.callFacts(&f, v, &p)
	}
	n.resolve(&f, v, ri)

	// Take prompt-like content off the record (written back as
	// warden.messages last).
	var pbuf [4]pending
	pend := pbuf[:0]
	if ri.argsPending {
		pend = append(pend, pending{roleUser, schema.PartPrompt, splitNone, ri.commandArgs})
		ri.argsPending = false
	}
	if isSemconvContentEvent(name, body) {
		role, part := semconvEventRole(name)
		pend = append(pend, pending{role, part, splitNone, body.AsString()})
		body.SetStr("")
	}
	if v.contentN > 0 {
		pend = takeContent(attrs, pend, name)
	}

	// Write canonical attributes.
	if !haveID {
		attrs.PutEmptyBytes(aEventID).FromRaw(id[:])
	}
	n.putCommon(attrs, &f, v, ri)
	if tid := lr.TraceID(); !tid.IsEmpty() {
		attrs.PutStr(aTraceID, hex.EncodeToString(tid[:]))
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		attrs.PutStr(aSpanID, hex.EncodeToString(sid[:]))
	}
	n.putCallFacts(attrs, &f, uint64(ts), &p)
	n.putMessages(attrs, pend, &p)
	if p.any() {
		n.Stats.Problems.Add(1)
		attrs.PutStr(AttrProblem, string(p.b))
	}
}

func isEventNameLike(s string) bool {
	if len(s) == 0 || len(s) > 128 || strings.ContainsAny(s, " \n\t") {
		return false
	}
	return strings.HasPrefix(s, "claude_code.") || strings.HasPrefix(s, "codex.") ||
		strings.HasPrefix(s, "gemini_cli.") || strings.HasPrefix(s, "gen_ai.") || strings.HasPrefix(s, "warden.")
}

func sourceOfName(name, scope string) string {
	switch {
	case strings.HasPrefix(name, "claude_code.") || strings.HasPrefix(scope, "com.anthropic.claude_code"):
		return schema.SourceClaudeCode
	case strings.HasPrefix(name, "codex.") || strings.HasPrefix(scope, "codex"):
		return schema.SourceCodex
	case strings.HasPrefix(name, "gemini_cli.") || scope == "gemini-cli":
		return schema.SourceGeminiCLI
	case strings.HasPrefix(name, "warden."):
		return schema.SourceWardenEndpoint
	case strings.HasPrefix(name, "gen_ai."):
		return schema.SourceOTelGenAI
	}
	return ""
}

// Semantic-convention message events (gen_ai.user.message, ...,
// gen_ai.choice) carry their content in the body.
func isSemconvContentEvent(name string, body pcommon.Value) bool {
	if body.Type() != pcommon.ValueTypeMap && body.Type() != pcommon.ValueTypeStr {
		return false
	}
	if body.Type() == pcommon.ValueTypeStr && body.Str() == "" {
		return false
	}
	switch name {
	case "gen_ai.user.message", "gen_ai.system.message", "gen_ai.assistant.message", "gen_ai.tool.message", "gen_ai.choice":
		return true
	}
	return false
}

func semconvEventRole(name string) (string, string) {
	switch name {
	case "gen_ai.system.message":
		return roleSystem, schema.PartSystem
	case "gen_ai.assistant.message", "gen_ai.choice":
		return roleAssistant, schema.PartResponse
	case "gen_ai.tool.message":
		return roleTool, schema.PartToolOutput
	}
	return roleUser, schema.PartPrompt
}

// classifyLog picks the kind, and for the one authoritative record of each
// model call the way its usage is reported. The rules (README "One call, one
// row"):
//
//   - Claude Code: claude_code.api_request is the call; spans and the
//     claude_code.token.usage / cost.usage metrics are not.
//   - Codex: the codex.sse_event of kind response.completed that carries
//     input_token_count is the call (Codex logs a second, token-less
//     response.completed event for the same response: kind other).
//   - Gemini CLI: gemini_cli.api_response is the call; its
//     gen_ai.client.inference.operation.details events and llm_call spans
//     repeat it and are not.
//   - OTel GenAI (other sources): gen_ai.client.inference.operation.details
//     with usage is the call; spans only with span_calls: true.
//   - Records already canonical (warden.kind set by a Warden producer) keep
//     their kind.
func (n *Normalizer) classifyLog(f *facts, v *view, ri *resInfo) {
	if k := v.str(kWardenKind); k != "" {
		// Already canonical (Warden endpoint, gateway, or a second pass):
		// its facts, tokens and cost are the producer's; nothing is
		// recomputed or overwritten.
		f.kind = k
		return
	}
	name := f.eventName
	f.kind = schema.KindOther
	switch f.source {
	case schema.SourceClaudeCode:
		switch name {
		case "claude_code.api_request":
			f.kind, f.callStyle = schema.KindModelCall, styleAnthropic
		case "claude_code.api_error", "claude_code.api_refusal", "claude_code.api_retries_exhausted":
			f.kind, f.callStyle = schema.KindModelError, styleAnthropic
		case "claude_code.user_prompt":
			f.kind = schema.KindUserPrompt
		case "claude_code.assistant_response":
			f.kind = schema.KindModelResponse
		case "claude_code.tool_result":
			f.kind = schema.KindToolCall
		case "claude_code.tool_decision":
			f.kind = schema.KindToolDecision
		}
	case schema.SourceCodex:
		switch name {
		case "codex.sse_event":
			if v.str(kEventKind) == "response.completed" && v.has[kInput] {
				f.kind, f.callStyle = schema.KindModelCall, styleCodex
			}
		case "codex.api_request", "codex.websocket_request":
			if st := v.str(kStatusCode); v.has[kError] || (len(st) == 3 && st[0] >= '4') {
				f.kind, f.callStyle = schema.KindModelError, styleCodex
			}
		case "codex.user_prompt":
			f.kind = schema.KindUserPrompt
		case "codex.agent_response":
			f.kind = schema.KindModelResponse
		case "codex.tool_result":
			f.kind = schema.KindToolCall
		case "codex.tool_decision":
			f.kind = schema.KindToolDecision
		}
	case schema.SourceGeminiCLI:
		switch name {
		case "gemini_cli.api_response":
			f.kind, f.callStyle = schema.KindModelCall, styleGemini
		case "gemini_cli.api_error":
			f.kind, f.callStyle = schema.KindModelError, styleGemini
		case "gemini_cli.user_prompt":
			f.kind = schema.KindUserPrompt
		case "gemini_cli.tool_call":
			f.kind = schema.KindToolCall
		case "gemini_cli.file_operation":
			f.kind = schema.KindFileAccess
		}
	case schema.SourceWardenEndpoint, schema.SourceWardenGateway:
		if k, ok := schema.EndpointEventKind(name); ok {
			f.kind = k
		}
	default:
		switch name {
		case "gen_ai.client.inference.operation.details":
			if v.has[kSemInput] || v.has[kSemOutput] {
				f.kind, f.callStyle = schema.KindModelCall, styleSemconv
			}
		case "gen_ai.user.message":
			f.kind = schema.KindUserPrompt
		case "gen_ai.choice", "gen_ai.assistant.message":
			f.kind = schema.KindModelResponse
		case "gen_ai.tool.message":
			f.kind = schema.KindToolCall
		}
	}
}

// callFacts reads provider, model, tokens, cost and latency of a model call
// or model error, with each source's token semantics.
func (n *Normalizer) callFacts(f *facts, v *view, p *problems) {
	f.model = v.firstStr(kWardenModel, kModel, kRespModel, kReqModel)
	f.requestID = v.firstStr(kRequestID, kRespID)
	f.latency, f.haveLatency = v.float(kDuration, "duration_ms", p)
	f.ttft, f.haveTTFT = v.float(kTTFT, "ttft_ms", p)
	if f.kind == schema.KindModelError {
		f.status = "error"
		if s := v.firstStr(kStatusCode, kError); s != "" {
			f.status = "error:" + s
		}
	} else {
		f.status = "ok"
	}
	switch f.callStyle {
	case styleAnthropic:
		f.provider = schema.ProviderAnthropic
		in, okIn := v.count(kInput, "input_tokens", p)
		out, okOut := v.count(kOutput, "output_tokens", p)
		cr, _ := v.count(kCacheRead, "cache_read_tokens", p)
		w5, ok5 := v.count(kCacheCreation5m, "cache_creation_5m_tokens", p)
		w1, ok1 := v.count(kCacheCreation1h, "cache_creation_1h_tokens", p)
		if !ok5 && !ok1 {
			// Older releases report only the total: count it as 5-minute.
			w5, _ = v.count(kCacheCreation, "cache_creation_tokens", p)
		}
		f.tokens = schema.AnthropicTokens(in, out, cr, w5, w1)
		f.haveTokens = okIn || okOut
		f.reported, f.haveReported = v.float(kCostUSD, "cost_usd", p)
	case styleCodex:
		f.provider = schema.ProviderOpenAI
		in, okIn := v.count(kInput, "input_token_count", p)
		out, okOut := v.count(kOutput, "output_token_count", p)
		cr, _ := v.count(kCacheRead, "cached_token_count", p)
		cw, _ := v.count(kCacheWriteCodex, "cache_write_token_count", p)
		rs, _ := v.count(kReasoning, "reasoning_token_count", p)
		f.tokens = schema.OpenAITokens(in, cr, cw, out, rs)
		f.haveTokens = okIn || okOut
	case styleGemini:
		f.provider = schema.ProviderGemini
		in, okIn := v.count(kInput, "input_token_count", p)
		out, okOut := v.count(kOutput, "output_token_count", p)
		cr, _ := v.count(kCachedGemini, "cached_content_token_count", p)
		th, _ := v.count(kThoughts, "thoughts_token_count", p)
		f.tokens = schema.GeminiTokens(in, cr, out, th)
		f.haveTokens = okIn || okOut
	case styleSemconv:
		f.provider = providerOf(v.str(kProviderHint))
		// Semantic conventions: input_tokens include cached tokens.
		in, okIn := v.count(kSemInput, "gen_ai.usage.input_tokens", p)
		out, okOut := v.count(kSemOutput, "gen_ai.usage.output_tokens", p)
		cr, _ := v.count(kSemCacheRead, "gen_ai.usage.cache_read.input_tokens", p)
		cw, _ := v.count(kSemCacheWrite, "gen_ai.usage.cache_creation.input_tokens", p)
		f.tokens = schema.Tokens{Input: max(in, cr+cw), Output: out, CacheRead: cr, CacheWrite5m: cw}
		f.haveTokens = okIn || okOut
		f.reported, f.haveReported = v.float(kCostUSD, "cost_usd", p)
	}
	if f.kind == schema.KindModelCall && !f.haveTokens {
		p.add("tokens", "model call reports no token counts")
	}
	if f.kind == schema.KindModelCall && f.model == "" {
		p.add("model", "missing")
	}
}

// providerOf maps gen_ai.provider.name / gen_ai.system values to the
// price table's providers.
func providerOf(hint string) string {
	switch hint {
	case "anthropic", "aws.bedrock", "gcp.vertex_ai.anthropic":
		return schema.ProviderAnthropic
	case "openai", "azure.ai.openai", "azure_openai":
		return schema.ProviderOpenAI
	case "gcp.gen_ai", "gcp.gemini", "gcp.vertex_ai", "gemini", "google", "vertex_ai":
		return schema.ProviderGemini
	}
	return hint
}

// putCommon writes kind, source, identity and tenant. Values a Warden
// producer already set are kept.
func (n *Normalizer) putCommon(attrs pcommon.Map, f *facts, v *view, ri *resInfo) {
	if !v.has[kWardenKind] {
		attrs.PutStr(aKind, f.kind)
	}
	if f.eventName != "" {
		attrs.PutStr(aEventName, f.eventName)
	}
	n.putIdentity(attrs, f, v, ri)
	if !v.has[kWardenKind] {
		n.putKindFacts(attrs, f, v)
	}
}

func putIfMissing(attrs pcommon.Map, has bool, key, val string) {
	if !has && val != "" {
		attrs.PutStr(key, val)
	}
}

// putIdentity writes source, tenant and identity, all resolved earlier.
func (n *Normalizer) putIdentity(attrs pcommon.Map, f *facts, v *view, ri *resInfo) {
	putIfMissing(attrs, v.has[kWardenSource], aSource, f.source)
	putIfMissing(attrs, v.has[kTenant], aTenant, f.tenant)
	putIfMissing(attrs, v.has[kWardenUser], aUser, f.user)
	putIfMissing(attrs, v.has[kWardenDevice], aDevice, f.device)
	putIfMissing(attrs, v.has[kWardenDept], aDepartment, f.dept)
	putIfMissing(attrs, v.has[kWardenSession], aSession, f.session)
	putIfMissing(attrs, v.has[kWardenAgent], aAgent, ri.agent)
	putIfMissing(attrs, v.has[kWardenAgentVer], aAgentVersion, f.agentVersion)
}

// putKindFacts writes the per-kind columns of non-call records.
func (n *Normalizer) putKindFacts(attrs pcommon.Map, f *facts, v *view) {
	if f.toolName != "" && (f.kind == schema.KindToolCall || f.kind == schema.KindToolDecision || f.kind == schema.KindFileAccess) {
		attrs.PutStr(aToolName, f.toolName)
		if f.success != "" && f.kind == schema.KindToolCall {
			if strings.EqualFold(f.success, "true") {
				attrs.PutStr(aStatus, "ok")
			} else {
				attrs.PutStr(aStatus, "error")
			}
		}
	}
	if f.kind == schema.KindFileAccess && f.source == schema.SourceGeminiCLI {
		switch f.fileOp {
		case "read":
			attrs.PutStr(aAccessMode, schema.AccessRead)
		case "create", "update", "write":
			attrs.PutStr(aAccessMode, schema.AccessWrite)
		}
	}
	if f.model == "" && f.callStyle == styleNone && !v.has[kWardenModel] && f.plainModel != "" {
		attrs.PutStr(aModel, f.plainModel)
	}
}

// putCallFacts writes tokens and cost of a model call (and provider/model of
// a model error). Only model_call records carry token and cost columns, so
// sums over `events` count each call once.
func (n *Normalizer) putCallFacts(attrs pcommon.Map, f *facts, at uint64, p *problems) {
	if f.callStyle == styleNone {
		return
	}
	if f.provider != "" {
		attrs.PutStr(aProvider, f.provider)
	}
	if f.model != "" {
		attrs.PutStr(aModel, f.model)
	}
	if f.requestID != "" {
		attrs.PutStr(aRequestID, f.requestID)
	}
	if f.status != "" {
		attrs.PutStr(aStatus, f.status)
	}
	if f.haveLatency {
		attrs.PutDouble(aLatencyMS, f.latency)
	}
	if f.haveTTFT {
		attrs.PutDouble(aTTFTMS, f.ttft)
	}
	if f.kind != schema.KindModelCall {
		return
	}
	n.Stats.Calls.Add(1)
	t := f.tokens
	attrs.PutInt(aInputTokens, int64(t.Input))
	attrs.PutInt(aOutputTokens, int64(t.Output))
	attrs.PutInt(aCacheRead, int64(t.CacheRead))
	attrs.PutInt(aCacheWrite, int64(t.CacheWrite()))
	attrs.PutInt(aReasoning, int64(t.Reasoning))
	priced, ok := n.prices.Cost(f.provider, f.model, int64(at), t)
	if !ok {
		n.Stats.Unpriced.Add(1)
	}
	if f.haveReported {
		attrs.PutDouble(aReportedCost, f.reported)
	}
	if ok {
		attrs.PutDouble(aPricedCost, priced)
	}
	switch {
	case ok && (n.preferPriced || !f.haveReported):
		attrs.PutDouble(aCostUSD, priced)
		attrs.PutStr(aCostSource, schema.CostPriced)
	case f.haveReported:
		attrs.PutDouble(aCostUSD, f.reported)
		attrs.PutStr(aCostSource, schema.CostReported)
	default:
		attrs.PutDouble(aCostUSD, 0)
		attrs.PutStr(aCostSource, schema.CostUnpriced)
	}
}
