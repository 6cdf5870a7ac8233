package schema

// The OTLP shape of Warden endpoint events (`warden run`, package endpoint).
//
// The endpoint emits OTLP log records, one per event, already in the
// canonical shape so the genai processor only has to check and pass them on:
//
//   - resource: service.name = EndpointServiceName, service.version, and
//     AttrTenant when configured;
//   - scope:    EndpointScope;
//   - record:   attribute "event.name" = one of the EndpointEvent* names
//     below, Timestamp = when the kernel saw it, body empty (never content);
//   - canonical attributes (AttrPrefix + column, typed as the column):
//     warden.kind, warden.source (= SourceWardenEndpoint), warden.event_name
//     (= event.name), warden.session_id, warden.user_pseudonym,
//     warden.device_pseudonym, warden.agent, warden.agent_version, and per
//     event the endpoint facts: warden.path_pseudonym, warden.access_mode,
//     warden.dest_host, warden.dest_port, warden.denied, warden.exit_code,
//     warden.content_sha256; policy_violation also sets warden.decision
//     ("deny") and warden.rule_ids (Slice of EndpointRule* values).
//   - extra facts that fit no column use the EndpointAttr* keys below (no
//     "warden." prefix, so they land in the `attributes` map column).
//
// Raw identifiers never leave the endpoint: file paths, the user name and the
// device id are pseudonymized on the desktop (keyed HMAC, see vault) before
// the record is buffered, so the on-disk export buffer holds pseudonyms only.
// dest_host carries the IP address literal the agent connected to (the
// endpoint never sees host names at connect time).

// EndpointServiceName is service.name on the resource of endpoint records.
const EndpointServiceName = "warden-endpoint"

// EndpointScope is the instrumentation scope name of endpoint records.
const EndpointScope = "github.com/wardenhq/warden/endpoint"

// Endpoint event names (attribute "event.name" and column event_name).
const (
	EndpointEventExec            = "warden.exec"
	EndpointEventFileAccess      = "warden.file_access"
	EndpointEventNetConnect      = "warden.net_connect"
	EndpointEventAgentLifecycle  = "warden.agent_lifecycle"
	EndpointEventPolicyViolation = "warden.policy_violation"
)

// EndpointEventKind maps an endpoint event name to its canonical kind; ok is
// false for a name that is not an endpoint event.
func EndpointEventKind(eventName string) (kind string, ok bool) {
	switch eventName {
	case EndpointEventExec:
		return KindExec, true
	case EndpointEventFileAccess:
		return KindFileAccess, true
	case EndpointEventNetConnect:
		return KindNetConnect, true
	case EndpointEventAgentLifecycle:
		return KindAgentLifecycle, true
	case EndpointEventPolicyViolation:
		return KindPolicyViolation, true
	}
	return "", false
}

// Values of warden.access_mode on file_access (and exec) events.
const (
	AccessRead      = "read"
	AccessWrite     = "write"
	AccessReadWrite = "read_write"
	AccessExec      = "exec"
)

// Values of EndpointAttrPhase on agent_lifecycle events.
const (
	PhaseStart   = "start"   // agent started (binary facts, identity)
	PhaseStop    = "stop"    // agent exited on its own (exit_code set)
	PhaseCrash   = "crash"   // agent killed by a signal (EndpointAttrSignal set)
	PhaseRefused = "refused" // launch refused (e.g. unapproved binary)
)

// Rule ids carried in warden.rule_ids on endpoint policy_violation events.
const (
	EndpointRuleFSRead    = "endpoint.fs.read"    // Landlock denied a read
	EndpointRuleFSWrite   = "endpoint.fs.write"   // Landlock denied a write/create
	EndpointRuleFSExec    = "endpoint.fs.exec"    // Landlock denied an execute
	EndpointRuleNetEgress = "endpoint.net.egress" // cgroup eBPF refused a destination
	EndpointRuleNetDNS    = "endpoint.net.dns"    // UDP/53 to a non-approved resolver
	EndpointRuleSyscall   = "endpoint.syscall"    // seccomp refused a syscall
	EndpointRuleBinary    = "endpoint.binary"     // agent binary not approved
	EndpointRuleCgroup    = "endpoint.cgroup"     // attempt to leave the session cgroup
)

// Extra endpoint attributes (stored in the `attributes` map column).
const (
	EndpointAttrPhase      = "endpoint.lifecycle.phase" // PhaseStart|PhaseStop|PhaseCrash|PhaseRefused
	EndpointAttrSignal     = "endpoint.signal"          // Int: terminating signal
	EndpointAttrPID        = "endpoint.pid"             // Int
	EndpointAttrPPID       = "endpoint.ppid"            // Int
	EndpointAttrComm       = "endpoint.comm"            // Str: kernel task name (15 chars)
	EndpointAttrOpenFlags  = "endpoint.open_flags"      // Int: openat flags
	EndpointAttrErrno      = "endpoint.errno"           // Int: positive errno of a failed call
	EndpointAttrProtocol   = "endpoint.protocol"        // Str: tcp|udp|other
	EndpointAttrFamily     = "endpoint.family"          // Str: ipv4|ipv6
	EndpointAttrSyscall    = "endpoint.syscall"         // Str: syscall name (seccomp denials)
	EndpointAttrDetail     = "endpoint.detail"          // Str: short human reason, never content
	EndpointAttrCgroupID   = "endpoint.cgroup_id"       // Int: the session cgroup id
	EndpointAttrBinarySHA  = "endpoint.binary_sha256"   // Str: agent binary sha256 (lifecycle)
	EndpointAttrLostEvents = "endpoint.lost_events"     // Int: ring-buffer events lost so far
)
