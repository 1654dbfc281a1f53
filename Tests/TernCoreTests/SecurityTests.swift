import Foundation
import TernCore
import Testing

@Suite("Secrets and passwords")
struct SecurityTests {
    @Test("API keys: prefix, alphabet, length, uniqueness")
    func apiKeys() {
        let keys = (0..<200).map { _ in Secrets.newAPIKey() }
        #expect(Set(keys).count == keys.count)
        for key in keys {
            #expect(key.hasPrefix("tern_"))
            #expect(key.count == 45)
            #expect(Secrets.looksLikeAPIKey(key))
        }
        #expect(!Secrets.looksLikeAPIKey("tern_short"))
        #expect(!Secrets.looksLikeAPIKey("sk-" + String(repeating: "a", count: 40)))
        #expect(!Secrets.looksLikeAPIKey("tern_" + String(repeating: "-", count: 40)))
    }

    @Test("hashes are SHA-256 hex and differ per key")
    func hashing() {
        // Known SHA-256 test vector.
        #expect(Secrets.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let a = Secrets.newAPIKey(), b = Secrets.newAPIKey()
        #expect(Secrets.hash(a) != Secrets.hash(b))
        #expect(Secrets.displayPrefix(a) == String(a.prefix(13)))
    }

    @Test("scrypt password hashes verify the right password only and are salted")
    func passwords() throws {
        let hasher = PasswordHasher.fastForTests
        let first = try hasher.hash("correct horse battery")
        let second = try hasher.hash("correct horse battery")
        #expect(first != second, "a fresh salt each time")
        #expect(first.hasPrefix("scrypt$10$8$1$"))
        #expect(PasswordHasher.verify("correct horse battery", against: first))
        #expect(PasswordHasher.verify("correct horse battery", against: second))
        #expect(!PasswordHasher.verify("correct horse batterY", against: first))
        #expect(!PasswordHasher.verify("", against: first))
        #expect(!PasswordHasher.verify("x", against: "not-a-hash"))
        #expect(!PasswordHasher.verify("x", against: "scrypt$99$8$1$AA==$AA=="), "absurd parameters are refused, not run")
        #expect(!first.contains("correct"))
    }

    @Test("validation rules")
    func validation() throws {
        #expect(try Validate.slug("my-project-2", field: "slug") == "my-project-2")
        for bad in ["", "-x", "Upper", "has space", "ünï", String(repeating: "a", count: 65)] {
            #expect(throws: TernError.self) { try Validate.slug(bad, field: "slug") }
        }
        #expect(try Validate.email("  Ada@Example.COM ", field: "email") == "ada@example.com")
        for bad in ["ada", "ada@", "@x.com", "ada@x", "a b@x.com"] {
            #expect(throws: TernError.self) { try Validate.email(bad, field: "email") }
        }
        let short = #expect(throws: TernError.self) { try Validate.password("short", field: "password") }
        #expect(short?.field == "password")
        #expect(try Validate.name("  Ada  ", field: "name") == "Ada")
        #expect(throws: TernError.self) { try Validate.name("   ", field: "name") }
        #expect(try Role.parse("Admin", field: "role") == .admin)
        #expect(Role.viewer < Role.member && Role.member < Role.admin)
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test("time-ordered ids are UUID version 7, unique, and sort by time")
    func timeOrdered() {
        let early = TernID.makeTimeOrdered(at: Date(timeIntervalSince1970: 1_800_000_000))
        let late = TernID.makeTimeOrdered(at: Date(timeIntervalSince1970: 1_800_000_000.002))
        #expect(early < late)
        #expect(UUID(uuidString: early) != nil)
        #expect(early.count == 36)
        #expect(Array(early)[14] == "7", "version 7")
        #expect(["8", "9", "a", "b"].contains(Array(early)[19]), "RFC 4122 variant")
        #expect(early.hasPrefix("01a3185c-5000"), "48 bits of milliseconds: 1,800,000,000,000 = 0x01A3185C5000")
        let many = (0..<1000).map { _ in TernID.makeTimeOrdered() }
        #expect(Set(many).count == 1000)
    }
}
