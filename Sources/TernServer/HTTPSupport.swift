import Foundation
import Hummingbird
import NIOCore
import TernCore

/// JSON in and out, with errors that name the field.
enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatDate(date))
        }
        return encoder
    }()

    static func formatDate(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try encoder.encode(value)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads at most `limit` bytes of body and decodes `T`. Keys not in `allowedKeys` are rejected
    /// (a misspelt optional field would otherwise be silently ignored).
    static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, limit: Int, allowedKeys: Set<String>? = nil
    ) async throws -> T {
        try decode(type, from: try await collect(request, limit: limit), allowedKeys: allowedKeys)
    }

    /// The request body, at most `limit` bytes.
    static func collect(_ request: Request, limit: Int) async throws -> Data {
        do {
            return Data(try await request.body.collect(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw TernError(.tooLarge, code: "payload_too_large", message: "request body exceeds the limit of \(limit) bytes")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, allowedKeys: Set<String>? = nil) throws -> T {
        guard !data.isEmpty else {
            throw TernError.invalid(nil, "request body is empty; expected a JSON object", code: "malformed_json")
        }
        // JSON exchanged between systems is UTF-8 (RFC 8259 §8.1), as ingest reads it: UTF-16 and UTF-32
        // bodies (which JSONSerialization would guess) are refused everywhere alike.
        try requireUTF8(data)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TernError.invalid(nil, "malformed JSON: \(describe(error))", code: "malformed_json")
        }
        if let allowedKeys {
            guard let dictionary = object as? [String: Any] else {
                throw TernError.invalid(nil, "expected a JSON object", code: "malformed_json")
            }
            if let unknown = dictionary.keys.sorted().first(where: { !allowedKeys.contains($0) }) {
                throw TernError.invalid(
                    unknown, "unknown field (allowed: \(allowedKeys.sorted().joined(separator: ", ")))", code: "unknown_field")
            }
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw describe(error)
        }
    }

    static func requireUTF8(_ data: Data) throws {
        let bomless = data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data[...]
        let looksWide =
            data.starts(with: [0xFE, 0xFF]) || data.starts(with: [0xFF, 0xFE])
            || (data.count >= 2 && (data[data.startIndex] == 0 || data[data.startIndex + 1] == 0))
        guard !looksWide, String(validating: bomless, as: UTF8.self) != nil else {
            throw TernError.invalid(nil, "the body is not UTF-8 text; send JSON as UTF-8", code: "malformed_json")
        }
    }

    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let debug = nsError.userInfo["NSDebugDescription"] as? String { return debug }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            let debug = underlying.userInfo["NSDebugDescription"] as? String
        {
            return debug
        }
        return "\(error)"
    }

    static func path(_ codingPath: [any CodingKey]) -> String? {
        guard !codingPath.isEmpty else { return nil }
        var out = ""
        for key in codingPath {
            if let index = key.intValue { out += "[\(index)]" } else { out += out.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return out
    }

    static func describe(_ error: DecodingError) -> TernError {
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key]) ?? key.stringValue
            return .invalid(field, "is required", code: "missing_field")
        case .typeMismatch(let type, let context):
            return .invalid(path(context.codingPath), "expected \(typeName(type))", code: "invalid_type")
        case .valueNotFound(let type, let context):
            return .invalid(path(context.codingPath), "expected \(typeName(type)), got null", code: "invalid_type")
        case .dataCorrupted(let context):
            return .invalid(path(context.codingPath), context.debugDescription, code: "invalid_value")
        @unknown default:
            return .invalid(nil, "\(error)")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        if type == String.self { return "a string" }
        if type == Bool.self { return "a boolean" }
        if type == Int.self || type == Int64.self { return "an integer" }
        if type == Double.self { return "a number" }
        let name = "\(type)"
        if name.hasPrefix("Dictionary") { return "an object" }
        if name.hasPrefix("Array") { return "an array" }
        return "a value of type \(name)"
    }
}

/// The body of every error response: `{"error": {"code", "message", "field"}}`.
struct ErrorEnvelope: Encodable {
    struct Body: Encodable {
        var code: String
        var message: String
        var field: String?
    }
    var error: Body
}

extension TernError.Kind {
    var status: HTTPResponse.Status {
        switch self {
        case .invalidInput: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .timeout: .gatewayTimeout
        case .upstream: .badGateway
        case .internal: .internalServerError
        }
    }
}

extension TernError {
    /// Maps errors of any origin (router, NIO, decoding) to Tern's error type.
    static func from(_ error: any Error, request: Request) -> TernError {
        switch error {
        case let error as TernError:
            return error
        case is NIOTooManyBytesError:
            return TernError(.tooLarge, code: "payload_too_large", message: "request body is too large")
        case let error as DecodingError:
            return JSON.describe(error)
        case let error as any HTTPResponseError:
            switch error.status {
            case .notFound:
                return TernError(.notFound, code: "not_found", message: "no route for \(request.method) \(request.uri.path)")
            case .contentTooLarge:
                return TernError(.tooLarge, code: "payload_too_large", message: "request body is too large")
            case .methodNotAllowed:
                return TernError(.invalidInput, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path)")
            case .unauthorized:
                return TernError(.unauthorized, code: "unauthorized", message: (error as? HTTPError)?.body ?? "unauthorized")
            default:
                let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
                if error.status.code < 500 {
                    return TernError(.invalidInput, code: "bad_request", message: message)
                }
                return TernError(.internal, code: "internal_error", message: message)
            }
        default:
            return TernError(.internal, code: "internal_error", message: "internal error")
        }
    }

    func response() -> Response {
        var headers: HTTPFields = [:]
        if kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"tern\"" }
        let envelope = ErrorEnvelope(error: .init(code: code, message: message, field: field))
        return (try? JSON.response(envelope, status: kind.status, headers: headers))
            ?? Response(status: kind.status)
    }
}

extension Parameters {
    /// A path parameter, percent-decoded: an id stored as `a/b é` is reached at `/traces/a%2Fb%20%C3%A9`.
    func string(_ name: String) throws -> String {
        guard let value = self.get(name) else { throw TernError.invalid(name, "missing path parameter") }
        return value.removingPercentEncoding ?? value
    }
}
