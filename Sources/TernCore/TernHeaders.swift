/// The `x-tern-*` HTTP headers a client sends to the gateway (and the gateway answers with), one constant
/// each (docs/GATEWAY.md describes them). Lowercase, as HTTP/2 and the hummingbird field names use them.
public enum TernHeader {
    /// Prefix of every Tern header.
    public static let prefix = "x-tern-"
    /// The trace a call is recorded in (answered by the gateway; a client may send its own).
    public static let traceID = "x-tern-trace-id"
    /// Groups calls into a session.
    public static let session = "x-tern-session"
    /// The end user a call is made for.
    public static let user = "x-tern-user"
    /// Comma-separated tags for the trace.
    public static let tags = "x-tern-tags"
    /// The task label for the trace's metrics slice.
    public static let task = "x-tern-task"
    /// Answered: `hit`, `miss`, `bypass` or `off`; sent: `no-cache` (or `bypass`, `no`, `none`, `false`, `0`)
    /// skips the response cache for this call.
    public static let cache = "x-tern-cache"
    /// The deployment that served a call (answered).
    public static let deployment = "x-tern-deployment"
    /// The variant of a split deployment that served a call (answered).
    public static let variant = "x-tern-variant"
    /// A managed prompt to render into the call: `name`, `name@version` or `name:label`.
    public static let prompt = "x-tern-prompt"
    /// The prompt version to use (with `x-tern-prompt`).
    public static let promptVersion = "x-tern-prompt-version"
    /// The prompt label to use (with `x-tern-prompt`).
    public static let promptLabel = "x-tern-prompt-label"
}
