import Foundation
import HTTPTypes
import NIOCore
import TernTestSupport
import Testing

/// What the web UI tests share: form posts, the CSRF token of a page, signing a user in through the form.
enum Web {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    static let password = "correct horse battery"

    /// The `csrf` hidden field of a page.
    static func csrf(_ page: String) throws -> String {
        try #require(page.range(of: #"name="csrf" value=""#).map { range in String(page[range.upperBound...].prefix { $0 != "\"" }) })
    }

    static func encode(_ pairs: [(String, String)]) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return ByteBuffer(
            string: pairs.map {
                "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)"
            }
            .joined(separator: "&"))
    }

    static func post(_ h: Harness, _ path: String, cookie: String, _ pairs: [(String, String)]) async throws -> Harness.Reply {
        var headers = form
        headers[.cookie] = cookie
        return try await h.call(.post, path, body: encode(pairs), headers: headers)
    }

    static func get(_ h: Harness, _ path: String, cookie: String) async throws -> Harness.Reply {
        try await h.call(.get, path, headers: [.cookie: cookie])
    }

    /// Creates a user (unless `create` is false) and signs in through the form; returns the session cookie.
    static func signIn(
        _ h: Harness, email: String, name: String = "Someone", role: String = "member", next: String = "/ui/default/traces", create: Bool = true
    ) async throws -> String {
        if create {
            let created = try await h.call(
                .post, "/api/v1/users", key: h.adminKey,
                json: #"{"email": "\#(email)", "name": "\#(name)", "role": "\#(role)", "password": "\#(password)"}"#)
            #expect(created.status == .created, "\(created.text)")
        }
        let reply = try await h.call(.post, "/ui/login", body: encode([("email", email), ("password", password), ("next", next)]), headers: form)
        #expect(reply.status == .seeOther, "\(reply.text.prefix(300))")
        #expect(reply.headers[.location] == next)
        return try #require(reply.headers[.setCookie]?.split(separator: ";").first.map(String.init))
    }
}
