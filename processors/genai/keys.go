package genai

import "github.com/wardenhq/warden/schema"

// Canonical attribute keys, computed once.
var (
	aEventID      = schema.Attr("event_id")
	aTenant       = schema.AttrTenant
	aKind         = schema.Attr("kind")
	aSource       = schema.Attr("source")
	aEventName    = schema.Attr("event_name")
	aUser         = schema.Attr("user_pseudonym")
	aDevice       = schema.Attr("device_pseudonym")
	aDepartment   = schema.Attr("department")
	aAgent        = schema.Attr("agent")
	aAgentVersion = schema.Attr("agent_version")
	aSession      = schema.Attr("session_id")
	aTraceID      = schema.Attr("trace_id")
	aSpanID       = schema.Attr("span_id")
	aProvider     = schema.Attr("provider")
	aModel        = schema.Attr("model")
	aInputTokens  = schema.Attr("input_tokens")
	aOutputTokens = schema.Attr("output_tokens")
	aCacheRead    = schema.Attr("cache_read_tokens")
	aCacheWrite   = schema.Attr("cache_write_tokens")
	aReasoning    = schema.Attr("reasoning_tokens")
	aCostUSD      = schema.Attr("cost_usd")
	aCostSource   = schema.Attr("cost_source")
	aReportedCost = schema.Attr("reported_cost_usd")
	aPricedCost   = schema.Attr("priced_cost_usd")
	aLatencyMS    = schema.Attr("latency_ms")
	aTTFTMS       = schema.Attr("ttft_ms")
	aRequestID    = schema.Attr("request_id")
	aStatus       = schema.Attr("status")
	aToolName     = schema.Attr("tool_name")
	aAccessMode   = schema.Attr("access_mode")
	aPointID      = schema.Attr("point_id")
)

// AttrProblem (not a column: it lands in the `attributes` map) lists, "; "
// separated, what genai could not normalize on a record (a token count of the
// wrong type, an implausible value, a cut message, a missing timestamp). The
// record is kept with everything that could be normalized.
const AttrProblem = "genai.problem"

// Message roles (schema/attrs.go).
const (
	roleUser      = "user"
	roleAssistant = "assistant"
	roleSystem    = "system"
	roleTool      = "tool"
)

// key codes: what one attribute key means to the normalizer. One switch over
// the key replaces many map lookups (attributes are scanned once per record).
type keyCode uint8

const (
	kNone keyCode = iota
	kEventName
	kEventKind // codex sse event.kind
	kEventTimestamp
	kModel
	kReqModel
	kRespModel
	kProviderHint
	kInput
	kOutput
	kCacheRead
	kCacheCreation
	kCacheCreation5m
	kCacheCreation1h
	kCacheWriteCodex
	kReasoning
	kCachedGemini
	kThoughts
	kSemInput
	kSemOutput
	kSemCacheRead
	kSemCacheWrite
	kCostUSD
	kDuration
	kTTFT
	kRequestID
	kRespID
	kToolName
	kSuccess
	kStatusCode
	kError
	kOperation
	kFileOp
	kAppVersion
	kTenant
	kWardenKind
	kWardenSource
	kWardenEventID
	kWardenUser
	kWardenDevice
	kWardenDept
	kWardenSession
	kWardenAgent
	kWardenAgentVer
	kWardenModel
	// identity
	kUserEmail
	kUserAccountUUID
	kUserAccountID
	kEnduserID
	kUserID
	kInstallationID
	kHostID
	kHostName
	kDeviceID
	kDepartment
	kSessionID
	kConversationID
	kGenAIConversationID
	kThreadID
	kServiceName
	kServiceVersion
	kCommandArgs
	// content (moved into warden.messages)
	kContentFirst
	kPrompt
	kPromptText
	kUserPrompt
	kResponse
	kToolInput
	kArguments
	kFunctionArgs
	kOutputText
	kRequestText
	kResponseText
	kInputMessages
	kOutputMessages
	kSystemInstructions
	kToolDefinitions
	kGenAIPrompt
	kGenAICompletion
	kToolCallArgs
	kToolCallResult
	kContent
	kRequestBody
	kResponseBody
	kContentLast
)

func isContent(c keyCode) bool { return c > kContentFirst && c < kContentLast }

func codeOf(k string) keyCode {
	switch k {
	case "event.name":
		return kEventName
	case "event.kind":
		return kEventKind
	case "event.timestamp":
		return kEventTimestamp
	case "model":
		return kModel
	case "gen_ai.request.model":
		return kReqModel
	case "gen_ai.response.model":
		return kRespModel
	case "gen_ai.provider.name", "gen_ai.system":
		return kProviderHint
	case "input_tokens", "input_token_count":
		return kInput
	case "output_tokens", "output_token_count":
		return kOutput
	case "cache_read_tokens", "cached_token_count":
		return kCacheRead
	case "cache_creation_tokens":
		return kCacheCreation
	case "cache_creation_5m_tokens":
		return kCacheCreation5m
	case "cache_creation_1h_tokens":
		return kCacheCreation1h
	case "cache_write_token_count":
		return kCacheWriteCodex
	case "reasoning_token_count":
		return kReasoning
	case "cached_content_token_count":
		return kCachedGemini
	case "thoughts_token_count":
		return kThoughts
	case "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens":
		return kSemInput
	case "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens":
		return kSemOutput
	case "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens":
		return kSemCacheRead
	case "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation_input_tokens":
		return kSemCacheWrite
	case "cost_usd":
		return kCostUSD
	case "duration_ms":
		return kDuration
	case "ttft_ms":
		return kTTFT
	case "request_id":
		return kRequestID
	case "gen_ai.response.id":
		return kRespID
	case "tool_name", "function_name", "gen_ai.tool.name":
		return kToolName
	case "success":
		return kSuccess
	case "status_code", "http.response.status_code", "http.status_code":
		return kStatusCode
	case "error", "error.type", "error.message":
		return kError
	case "gen_ai.operation.name":
		return kOperation
	case "operation":
		return kFileOp
	case "app.version":
		return kAppVersion
	case schema.AttrTenant:
		return kTenant
	case "warden.kind":
		return kWardenKind
	case "warden.source":
		return kWardenSource
	case "warden.event_id":
		return kWardenEventID
	case "warden.user_pseudonym":
		return kWardenUser
	case "warden.device_pseudonym":
		return kWardenDevice
	case "warden.department":
		return kWardenDept
	case "warden.session_id":
		return kWardenSession
	case "warden.agent":
		return kWardenAgent
	case "warden.agent_version":
		return kWardenAgentVer
	case "warden.model":
		return kWardenModel
	case "user.email":
		return kUserEmail
	case "user.account_uuid":
		return kUserAccountUUID
	case "user.account_id":
		return kUserAccountID
	case "enduser.id":
		return kEnduserID
	case "user.id":
		return kUserID
	case "installation.id":
		return kInstallationID
	case "host.id":
		return kHostID
	case "host.name":
		return kHostName
	case "device.id":
		return kDeviceID
	case "department", "organization.department", "enduser.department":
		return kDepartment
	case "session.id":
		return kSessionID
	case "conversation.id":
		return kConversationID
	case "gen_ai.conversation.id":
		return kGenAIConversationID
	case "thread_id":
		return kThreadID
	case "service.name":
		return kServiceName
	case "service.version":
		return kServiceVersion
	case "process.command_args", "process.command_line":
		return kCommandArgs
	// content
	case "prompt":
		return kPrompt
	case "prompt_text":
		return kPromptText
	case "user_prompt":
		return kUserPrompt
	case "response":
		return kResponse
	case "tool_input":
		return kToolInput
	case "arguments":
		return kArguments
	case "function_args":
		return kFunctionArgs
	case "output":
		return kOutputText
	case "request_text":
		return kRequestText
	case "response_text":
		return kResponseText
	case "gen_ai.input.messages":
		return kInputMessages
	case "gen_ai.output.messages":
		return kOutputMessages
	case "gen_ai.system_instructions":
		return kSystemInstructions
	case "gen_ai.tool.definitions":
		return kToolDefinitions
	case "gen_ai.prompt":
		return kGenAIPrompt
	case "gen_ai.completion":
		return kGenAICompletion
	case "gen_ai.tool.call.arguments":
		return kToolCallArgs
	case "gen_ai.tool.call.result":
		return kToolCallResult
	case "content":
		return kContent
	case "body", "request_body", "api_request_body":
		return kRequestBody
	case "response_body", "api_response_body":
		return kResponseBody
	}
	return kNone
}

// contentSpec says how a content key becomes messages.
type contentSpec struct {
	role, part string
	split      splitMode
}

type splitMode uint8

const (
	splitNone     splitMode = iota
	splitMessages           // JSON array/object of {role, parts|content}: one message each
	splitOutput             // like splitMessages, role forced to assistant
)

func specOf(c keyCode) contentSpec {
	switch c {
	case kPrompt, kPromptText, kUserPrompt, kGenAIPrompt:
		return contentSpec{roleUser, schema.PartPrompt, splitNone}
	case kResponse, kResponseText, kGenAICompletion, kResponseBody:
		return contentSpec{roleAssistant, schema.PartResponse, splitNone}
	case kToolInput, kArguments, kFunctionArgs, kToolCallArgs:
		return contentSpec{roleAssistant, schema.PartToolInput, splitNone}
	case kOutputText, kToolCallResult:
		return contentSpec{roleTool, schema.PartToolOutput, splitNone}
	case kRequestText, kInputMessages:
		return contentSpec{roleUser, schema.PartPrompt, splitMessages}
	case kOutputMessages:
		return contentSpec{roleAssistant, schema.PartResponse, splitOutput}
	case kSystemInstructions:
		return contentSpec{roleSystem, schema.PartSystem, splitNone}
	case kToolDefinitions:
		return contentSpec{roleSystem, schema.PartOther, splitNone}
	case kContent:
		return contentSpec{roleTool, schema.PartFileContent, splitNone}
	case kRequestBody:
		return contentSpec{roleUser, schema.PartPrompt, splitNone}
	}
	return contentSpec{roleUser, schema.PartOther, splitNone}
}
