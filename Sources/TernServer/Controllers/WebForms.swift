import Foundation
import Hummingbird
import TernCore

/// A submitted HTML form: `application/x-www-form-urlencoded` or `multipart/form-data` (file uploads).
/// Keeps every value of a repeated name (checkboxes); text line breaks are normalised to `\n`, since
/// browsers send a textarea's lines with CRLF.
struct WebForm {
    var fields: [(name: String, value: String)] = []
    var files: [String: (filename: String, text: String)] = [:]

    subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// A field's value trimmed, or nil when it is missing or blank.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    static func read(_ request: Request, limit: Int) async throws -> WebForm {
        let data = try await JSON.collect(request, limit: limit)
        let type = request.headers[.contentType] ?? ""
        if type.lowercased().hasPrefix("multipart/form-data") {
            guard let boundary = parameter("boundary", of: type) else {
                throw TernError.invalid("form", "a multipart form without a boundary")
            }
            return try multipart(data, boundary: boundary)
        }
        return urlencoded(String(decoding: data, as: UTF8.self))
    }

    static func urlencoded(_ body: String) -> WebForm {
        var form = WebForm()
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                (String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text))
                    .replacingOccurrences(of: "\r\n", with: "\n")
            }
            form.fields.append((decode(parts[0]), parts.count > 1 ? decode(parts[1]) : ""))
        }
        return form
    }

    /// `name=value` from a header value such as `multipart/form-data; boundary=xyz` (quotes removed).
    static func parameter(_ name: String, of header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let parts = piece.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = parts[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    /// RFC 7578 bodies: parts separated by `--boundary`, each with headers, a blank line and content.
    static func multipart(_ body: Data, boundary: String) throws -> WebForm {
        let data = Data(body)
        let delimiter = Data("--\(boundary)".utf8)
        let separator = Data("\r\n--\(boundary)".utf8)
        let blank = Data("\r\n\r\n".utf8)
        guard let first = data.range(of: delimiter) else { throw TernError.invalid("form", "the multipart body has no part") }
        var form = WebForm()
        var cursor = first.upperBound
        while cursor + 2 <= data.count {
            if data[cursor] == UInt8(ascii: "-"), data[cursor + 1] == UInt8(ascii: "-") { break }
            // Skip the line break after the delimiter.
            if data[cursor] == UInt8(ascii: "\r") { cursor += 2 } else if data[cursor] == UInt8(ascii: "\n") { cursor += 1 }
            guard let end = data.range(of: separator, in: cursor..<data.count) else {
                throw TernError.invalid("form", "the multipart body ends inside a part")
            }
            let part = data[cursor..<end.lowerBound]
            cursor = end.upperBound
            guard let split = part.range(of: blank) else { continue }
            let headers = String(decoding: part[part.startIndex..<split.lowerBound], as: UTF8.self)
            var content = String(decoding: part[split.upperBound...], as: UTF8.self)
            if content.hasPrefix("\u{FEFF}") { content.removeFirst() }
            var name: String?
            var filename: String?
            for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                name = parameter("name", of: String(line))
                filename = parameter("filename", of: String(line))
            }
            guard let name else { continue }
            if let filename {
                if !filename.isEmpty || !content.isEmpty { form.files[name] = (filename, content) }
            } else {
                form.fields.append((name, content.replacingOccurrences(of: "\r\n", with: "\n")))
            }
        }
        return form
    }
}

extension WebController {
    /// The signed-in user behind a form that changes data, after checking its CSRF token and role.
    func editor(_ request: Request, _ form: WebForm, to action: String) async throws -> User {
        guard let (user, token, _) = await viewer(request), form["csrf"] == Self.csrf(token) else {
            throw TernError.forbidden("the form expired; reload the page and try again")
        }
        guard user.role != .viewer else { throw TernError.forbidden("\(action) needs the member role; you have the viewer role") }
        return user
    }

    /// The signed-in admin behind a form that changes settings, after checking its CSRF token.
    func administrator(_ request: Request, _ form: WebForm, to action: String) async throws -> User {
        let user = try await editor(request, form, to: action)
        guard user.role == .admin else { throw TernError.forbidden("\(action) needs the admin role; you have the \(user.role.rawValue) role") }
        return user
    }

    /// Display names for stored authors: `user:<id>` as the user's name or e-mail, `key:<id>` as the key's name.
    func actorNames(projectID: String) async -> [String: String] {
        var names: [String: String] = [:]
        for user in (try? await store.users.list()) ?? [] {
            names["user:\(user.id)"] = user.name.isEmpty ? user.email : "\(user.name) (\(user.email))"
        }
        for key in (try? await store.apiKeys.list(projectID: projectID)) ?? [] {
            names["key:\(key.id)"] = "key \(key.name)"
        }
        return names
    }
}
