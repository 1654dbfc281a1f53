import Foundation
import Crypto

/// API keys and session tokens: random, shown once, stored only as a SHA-256 hash.
///
/// Keys carry 40 base-62 characters (about 238 bits) after their prefix, so a fast hash is
/// the right tool (as for GitHub or Stripe keys); a slow KDF is only needed for passwords.
public enum Secrets {
    public static let apiKeyPrefix = "tern_"
    public static let sessionPrefix = "ternsess_"
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    public static let bodyLength = 40

    public static func randomToken(prefix: String, length: Int = bodyLength) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(length)
        for _ in 0..<length {
            bytes.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))])
        }
        return prefix + String(decoding: bytes, as: UTF8.self)
    }

    public static func newAPIKey() -> String { randomToken(prefix: apiKeyPrefix) }
    public static func newSessionToken() -> String { randomToken(prefix: sessionPrefix) }

    /// Lower-case hex SHA-256 of the whole token.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// What lists show of a key: the prefix and the first 8 random characters.
    public static func displayPrefix(_ token: String) -> String {
        String(token.prefix(apiKeyPrefix.count + 8))
    }

    /// Whether a string has the shape of a Tern API key (prefix and alphabet), before any lookup.
    public static func looksLikeAPIKey(_ token: String) -> Bool {
        guard token.hasPrefix(apiKeyPrefix) else { return false }
        let body = token.utf8.dropFirst(apiKeyPrefix.utf8.count)
        return body.count == bodyLength && body.allSatisfy { alphabet.contains($0) }
    }
}
