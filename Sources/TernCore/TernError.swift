/// The one error type that crosses module boundaries in Tern.
///
/// `kind` decides the HTTP status and the CLI exit behaviour; `code` is a stable,
/// machine-readable string (`invalid_api_key`, `not_found`, ...); `field` names the
/// offending input (a JSON key path, a flag, or a `tern.yaml` key path) when there is one.
public struct TernError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case invalidInput
        case unauthorized
        case forbidden
        case notFound
        case conflict
        case tooLarge
        case rateLimited
        case unavailable
        case timeout
        case upstream
        case `internal`
    }

    public var kind: Kind
    public var code: String
    public var message: String
    public var field: String?
    /// For `rateLimited` and `unavailable`: seconds to wait before trying again (HTTP Retry-After).
    public var retryAfterSeconds: Int?

    public init(_ kind: Kind, code: String, message: String, field: String? = nil, retryAfterSeconds: Int? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String {
        if let field { return "\(field): \(message)" }
        return message
    }

    public static func invalid(_ field: String?, _ message: String, code: String = "invalid_request") -> TernError {
        TernError(.invalidInput, code: code, message: message, field: field)
    }

    public static func notFound(_ what: String, field: String? = nil) -> TernError {
        TernError(.notFound, code: "not_found", message: "\(what) not found", field: field)
    }

    public static func conflict(_ message: String, field: String? = nil) -> TernError {
        TernError(.conflict, code: "conflict", message: message, field: field)
    }

    public static func forbidden(_ message: String) -> TernError {
        TernError(.forbidden, code: "forbidden", message: message)
    }

    public static func unavailable(_ message: String) -> TernError {
        TernError(.unavailable, code: "unavailable", message: message)
    }

    public static func internalError(_ message: String) -> TernError {
        TernError(.internal, code: "internal_error", message: message)
    }
}
