import Foundation
import Crypto
import _CryptoExtras

/// Password hashing with scrypt (swift-crypto's `_CryptoExtras`).
///
/// Encoded as `scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>` so parameters can be raised
/// later without invalidating stored hashes.
public struct PasswordHasher: Sendable {
    public var logN: Int
    public var blockSize: Int
    public var parallelism: Int

    /// N = 2^15, r = 8, p = 1: 32 MiB and roughly 50-100 ms per hash on a server core (OWASP's minimum
    /// for scrypt is N = 2^17 with r = 8 at p = 1, or equivalent cost; raise `logN` where logins are rare).
    public static let standard = PasswordHasher(logN: 15, blockSize: 8, parallelism: 1)
    /// Cheap parameters for tests only.
    public static let fastForTests = PasswordHasher(logN: 10, blockSize: 8, parallelism: 1)

    public init(logN: Int, blockSize: Int, parallelism: Int) {
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    public func hash(_ password: String) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let derived = try Self.derive(password, salt: salt, logN: logN, r: blockSize, p: parallelism)
        return [
            "scrypt", String(logN), String(blockSize), String(parallelism),
            Data(salt).base64EncodedString(), Data(derived).base64EncodedString(),
        ].joined(separator: "$")
    }

    /// Checks a password against an encoded hash in constant time; false for malformed hashes.
    public static func verify(_ password: String, against encoded: String) -> Bool {
        let parts = encoded.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt",
            let logN = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
            (1...24).contains(logN), (1...64).contains(r), (1...16).contains(p),
            let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5])
        else { return false }
        guard let derived = try? derive(password, salt: Array(salt), logN: logN, r: r, p: p),
            derived.count == expected.count
        else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(derived, expected) { difference |= a ^ b }
        return difference == 0
    }

    static func derive(_ password: String, salt: [UInt8], logN: Int, r: Int, p: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32,
            rounds: 1 << logN, blockSize: r, parallelism: p, maxMemory: 1 << 30)
        return key.withUnsafeBytes { Array($0) }
    }
}
