import Foundation
@testable import TernLocal
import Testing

/// The tokenizer's rules on a tiny vocabulary (the fixture test covers the real one).
@Suite("WordPiece tokenizer")
struct TokenizerTests {
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "un", "##aff", "##able",
        ",", "!", "cafe", "中", "国", "$", "a", "##a", "b",
    ]

    static func tokenizer(maxLength: Int = 256) throws -> WordPieceTokenizer {
        var options = WordPieceTokenizer.Options()
        options.maxLength = maxLength
        return try WordPieceTokenizer(vocabulary: vocabulary, options: options)
    }

    static func id(_ token: String) -> Int32 { Int32(vocabulary.firstIndex(of: token)!) }

    @Test("lower-cases, strips accents, splits punctuation and Chinese characters, adds [CLS] and [SEP]")
    func rules() throws {
        let tokenizer = try Self.tokenizer()
        #expect(tokenizer.encode("Hello, WORLD!") == [2, 5, 10, 6, 11, 3])
        #expect(tokenizer.encode("Café") == [2, Self.id("cafe"), 3])
        #expect(tokenizer.encode("unaffable") == [2, Self.id("un"), Self.id("##aff"), Self.id("##able"), 3])
        #expect(tokenizer.encode("中国") == [2, Self.id("中"), Self.id("国"), 3])
        #expect(tokenizer.encode("$hello") == [2, Self.id("$"), Self.id("hello"), 3])
        #expect(tokenizer.encode("") == [2, 3])
        // Control and format characters vanish: one word "helloworld", with no "##world" piece.
        #expect(tokenizer.encode("hello\u{0}\u{200B}world") == [2, 1, 3])
        #expect(tokenizer.encode("hello\tworld\u{3000}hello") == [2, 5, 6, 5, 3])
    }

    @Test("a word with an unknown rest, or longer than 100 characters, is one [UNK]")
    func unknown() throws {
        let tokenizer = try Self.tokenizer()
        #expect(tokenizer.encode("unxyz hello") == [2, 1, 5, 3])
        #expect(tokenizer.encode(String(repeating: "a", count: 100)) == [2, Self.id("a")] + Array(repeating: Self.id("##a"), count: 99) + [3])
        #expect(tokenizer.encode(String(repeating: "a", count: 101)) == [2, 1, 3])
    }

    @Test("special tokens written in the text are kept whole, exact case only")
    func specialTokensInText() throws {
        let tokenizer = try Self.tokenizer()
        #expect(tokenizer.encode("hello[SEP]world [MASK]") == [2, 5, 3, 6, 4, 3])
        #expect(tokenizer.encode("[sep]") != [2, 3, 3])
    }

    @Test("truncates to maxLength tokens including [CLS] and [SEP]")
    func truncation() throws {
        let tokenizer = try Self.tokenizer(maxLength: 6)
        #expect(tokenizer.encode("hello world hello world hello world") == [2, 5, 6, 5, 6, 3])
        #expect(tokenizer.encode("hello unaffable") == [2, 5, Self.id("un"), Self.id("##aff"), Self.id("##able"), 3])
        #expect(tokenizer.encode("hello world unaffable") == [2, 5, 6, Self.id("un"), Self.id("##aff"), 3])
    }
}
