import AsyncHTTPClient
public import Foundation
import NIOCore
import TernCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which webhook destinations Tern may call (`alerts.allowed_hosts` in tern.yaml).
///
/// Loopback, private, link-local, shared (CGNAT), multicast and reserved addresses are refused unless listed
/// (by host name, address or CIDR range): a webhook URL must not reach the machine's or the network's inside
/// (server-side request forgery). With a non-empty list, only listed hosts are called at all. Names are
/// resolved and every address checked when a rule is saved and again before each delivery.
public struct WebhookPolicy: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var bits = prefix
            for index in 0..<bytes.count where bits > 0 {
                let take = min(8, bits)
                let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
                if address[index] & mask != bytes[index] & mask { return false }
                bits -= take
            }
            return true
        }
    }

    let names: [String]
    let suffixes: [String]
    let ranges: [Range]

    public var isEmpty: Bool { names.isEmpty && suffixes.isEmpty && ranges.isEmpty }

    /// Entries: a host name (`hooks.slack.com`), a suffix (`*.example.com`), an address (`127.0.0.1`, `::1`)
    /// or a CIDR range (`10.0.0.0/8`). A bad entry is refused naming `alerts.allowed_hosts[i]`.
    public init(allowedHosts: [String]) throws {
        var names: [String] = [], suffixes: [String] = [], ranges: [Range] = []
        for (index, raw) in allowedHosts.enumerated() {
            let entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            let field = "alerts.allowed_hosts[\(index)]"
            if entry.hasPrefix("*.") {
                guard entry.count > 2 else { throw TernError.invalid(field, "expected *.domain") }
                suffixes.append(String(entry.dropFirst(1)))
            } else if let slash = entry.firstIndex(of: "/") {
                guard let bytes = Self.address(String(entry[..<slash])), let prefix = Int(entry[entry.index(after: slash)...]),
                    prefix >= 0, prefix <= bytes.count * 8
                else { throw TernError.invalid(field, "expected a CIDR range such as 10.0.0.0/8, got \"\(raw)\"") }
                ranges.append(Range(bytes: bytes, prefix: prefix))
            } else if let bytes = Self.address(entry.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) {
                ranges.append(Range(bytes: bytes, prefix: bytes.count * 8))
            } else {
                guard !entry.isEmpty, entry.allSatisfy({ $0.isLetter || $0.isNumber || "-.".contains($0) }) else {
                    throw TernError.invalid(field, "expected a host name, an address or a CIDR range, got \"\(raw)\"")
                }
                names.append(entry)
            }
        }
        self.names = names
        self.suffixes = suffixes
        self.ranges = ranges
    }

    /// The bytes of an IPv4 or IPv6 address, or nil.
    static func address(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// Ranges no webhook reaches unless listed.
    static let internalRanges: [Range] = [
        ("0.0.0.0", 8), ("10.0.0.0", 8), ("100.64.0.0", 10), ("127.0.0.0", 8), ("169.254.0.0", 16), ("172.16.0.0", 12), ("192.0.0.0", 24),
        ("192.168.0.0", 16), ("198.18.0.0", 15), ("224.0.0.0", 4), ("240.0.0.0", 4), ("::", 128), ("::1", 128), ("fc00::", 7), ("fe80::", 10),
        ("ff00::", 8),
    ].map { Range(bytes: address($0.0)!, prefix: $0.1) }

    /// Whether an address is internal (an IPv4-mapped IPv6 address by its IPv4 part).
    static func isInternal(_ bytes: [UInt8]) -> Bool {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return isInternal(Array(bytes[12...]))
        }
        return internalRanges.contains { $0.contains(bytes) }
    }

    static func text(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    /// Why `url` may not be called, or nil when it may. `resolve` gives a name's addresses (nil when it cannot
    /// be resolved: allowed here, the delivery then fails and says so).
    public func refusal(url: String, resolve: (String) -> [[UInt8]]? = WebhookPolicy.resolve) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let rawHost = parsed.host, !rawHost.isEmpty
        else { return "expected an http or https URL" }
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let named = names.contains(host) || suffixes.contains { host.hasSuffix($0) }
        let addresses: [[UInt8]]
        if let literal = Self.address(host) {
            addresses = [literal]
        } else if host == "localhost" || host.hasSuffix(".localhost") {
            addresses = [Self.address("127.0.0.1")!]
        } else {
            addresses = resolve(host) ?? []
        }
        let covered = { (address: [UInt8]) in self.ranges.contains { $0.contains(address) } }
        if !isEmpty, !named, addresses.isEmpty || !addresses.allSatisfy(covered) {
            return "\(host) is not in alerts.allowed_hosts of tern.yaml"
        }
        if !named, let inside = addresses.first(where: { Self.isInternal($0) && !covered($0) }) {
            return
                "\(host) is an internal address (\(Self.text(inside))): loopback and private ranges are refused unless listed in alerts.allowed_hosts of tern.yaml"
        }
        return nil
    }

    /// The addresses of a host name (getaddrinfo), or nil when it does not resolve.
    public static func resolve(_ host: String) -> [[UInt8]]? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var addresses: [[UInt8]] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            if let address = current.pointee.ai_addr {
                if current.pointee.ai_family == AF_INET {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        var value = pointer.pointee.sin_addr
                        addresses.append(withUnsafeBytes(of: &value) { Array($0) })
                    }
                } else if current.pointee.ai_family == AF_INET6 {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var value = pointer.pointee.sin6_addr
                        addresses.append(withUnsafeBytes(of: &value) { Array($0) })
                    }
                }
            }
            node = current.pointee.ai_next
        }
        return addresses.isEmpty ? nil : addresses
    }
}

/// Posts alert notifications: a client of its own (no redirects followed, a timeout per attempt), the policy
/// checked before each attempt. Never throws: the outcome says what happened.
public final class WebhookSender: Sendable {
    let client: HTTPClient
    let policy: WebhookPolicy
    let timeout: Double

    public init(policy: WebhookPolicy, timeoutSeconds: Double = 10) {
        var configuration = HTTPClient.Configuration()
        // A redirect could lead past the policy: not followed.
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(Int64(max(1, timeoutSeconds))))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 4)
        configuration.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.policy = policy
        timeout = max(1, timeoutSeconds)
    }

    public func shutdown() async throws { try await client.shutdown() }

    /// POSTs `body`; the answer's status, or the error (a refusal by the policy, a timeout, a refused connection).
    public func send(url: String, body: Data, headers: [(String, String)]) async -> (status: Int?, error: String?) {
        let host = URL(string: url)?.host ?? url
        let policy = self.policy
        let refusal = await Task.detached { policy.refusal(url: url) }.value
        if let refusal { return (nil, "refused: \(refusal)") }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return (Int(response.status.code), nil)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return (nil, "no answer from \(host) within \(Int(timeout)) s")
        } catch {
            return (nil, "\(host): \(error)")
        }
    }
}
