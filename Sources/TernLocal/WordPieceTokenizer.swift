public import Foundation

/// BERT's tokenizer (normaliser, pre-tokeniser and WordPiece), written to give the same ids as the
/// reference, Hugging Face `tokenizers`' `BertNormalizer` + `BertPreTokenizer` + `WordPiece` (what
/// sentence-transformers runs), which agrees with `transformers`' Python `BertTokenizer` on everything but
/// a few exotic whitespace characters. docs/LOCAL_MODELS.md lists the rules; the fixture in
/// Tests/TernLocalTests/Fixtures checks them against the reference.
public struct WordPieceTokenizer: Sendable {
    public struct Options: Sendable {
        /// Lower-case (and, as BERT does when lower-casing, strip accents).
        public var lowercase = true
        /// `nil`: strip accents when lower-casing.
        public var stripAccents: Bool? = nil
        public var tokenizeChineseChars = true
        /// Longer words (in Unicode scalars, after normalisation) become `[UNK]`.
        public var maxInputCharsPerWord = 100
        /// Most tokens in a sequence, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
        public var maxLength = 256

        public init() {}
    }

    public let options: Options
    public let vocabularySize: Int
    public let clsID: Int32
    public let sepID: Int32
    public let unkID: Int32
    public let padID: Int32
    /// Word-initial pieces and `##` continuation pieces (without the `##`), keyed by their scalars: a
    /// `String` key would compare canonically equivalent texts as equal, and the reference compares bytes.
    private let starts: [[Unicode.Scalar]: Int32]
    private let continuations: [[Unicode.Scalar]: Int32]
    /// BERT's special tokens, longest first (none is a prefix of another).
    private let specials: [([Unicode.Scalar], Int32)]

    /// Reads `vocab.txt`: one token a line, the id is the line number.
    public init(vocabularyFile: URL, options: Options = Options()) throws {
        let data = try Data(contentsOf: vocabularyFile)
        var tokens: [String] = []
        var lineStart = data.startIndex
        for index in data.indices where data[index] == 0x0A {
            tokens.append(String(decoding: data[lineStart..<index], as: UTF8.self))
            lineStart = index + 1
        }
        if lineStart < data.endIndex { tokens.append(String(decoding: data[lineStart...], as: UTF8.self)) }
        try self.init(vocabulary: tokens, options: options)
    }

    public init(vocabulary: [String], options: Options = Options()) throws {
        var starts: [[Unicode.Scalar]: Int32] = [:]
        var continuations: [[Unicode.Scalar]: Int32] = [:]
        var special: [String: Int32] = [:]
        for (id, token) in vocabulary.enumerated() {
            let scalars = Array(token.unicodeScalars)
            // A repeated token keeps its last id, as transformers' load_vocab does.
            if scalars.count > 2, scalars[0] == "#", scalars[1] == "#" {
                continuations[Array(scalars[2...])] = Int32(id)
            } else {
                starts[scalars] = Int32(id)
            }
            if token.hasPrefix("["), token.hasSuffix("]") { special[token] = Int32(id) }
        }
        guard let cls = special["[CLS]"], let sep = special["[SEP]"], let unk = special["[UNK]"], let pad = special["[PAD]"] else {
            throw LocalModelError.invalid("vocab.txt", "missing one of [CLS], [SEP], [UNK], [PAD]")
        }
        self.specials = ["[MASK]", "[CLS]", "[SEP]", "[UNK]", "[PAD]"].compactMap { token in special[token].map { (Array(token.unicodeScalars), $0) } }
        self.options = options
        self.vocabularySize = vocabulary.count
        self.starts = starts
        self.continuations = continuations
        self.clsID = cls
        self.sepID = sep
        self.unkID = unk
        self.padID = pad
    }

    /// Token ids of one text: `[CLS]`, its word pieces (at most `maxLength - 2`), `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [clsID]
        let budget = options.maxLength - 2
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0, index = 0
        func appendText(_ range: Range<Int>) {
            for word in words(normalize(scalars[range])) {
                if ids.count - 1 >= budget { return }
                appendPieces(of: word, to: &ids)
            }
        }
        // Special tokens written in the text itself ("[SEP]", exact case) are kept whole, as the reference's
        // added tokens are: matched on the raw text before normalisation.
        while index < scalars.count, ids.count - 1 < budget {
            if scalars[index] == "[", let (id, length) = specialToken(in: scalars, at: index) {
                appendText(segmentStart..<index)
                if ids.count - 1 < budget { ids.append(id) }
                index += length
                segmentStart = index
            } else {
                index += 1
            }
        }
        if ids.count - 1 < budget { appendText(segmentStart..<scalars.count) }
        if ids.count - 1 > budget { ids.removeLast(ids.count - 1 - budget) }
        ids.append(sepID)
        return ids
    }

    private func specialToken(in scalars: [Unicode.Scalar], at index: Int) -> (Int32, Int)? {
        for (token, id) in specials where index + token.count <= scalars.count && scalars[index..<(index + token.count)].elementsEqual(token) {
            return (id, token.count)
        }
        return nil
    }

    // MARK: Normaliser (BertNormalizer: clean text, Chinese characters, strip accents, lower-case)

    func normalize(_ text: some Sequence<Unicode.Scalar>) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if options.tokenizeChineseChars, Self.isChineseChar(scalar) {
                cleaned.append(" "); cleaned.append(scalar); cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var scalars: [Unicode.Scalar]
        if options.stripAccents ?? options.lowercase {
            let decomposed = String(cleaned).decomposedStringWithCanonicalMapping
            scalars = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        } else {
            scalars = Array(cleaned)
        }
        if options.lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(scalars.count)
            for scalar in scalars {
                // Per scalar, with the full (context-free) mapping, as Rust's char::to_lowercase: no final sigma.
                if scalar.isASCII {
                    lowered.append(scalar.value >= 65 && scalar.value <= 90 ? Unicode.Scalar(scalar.value + 32)! : scalar)
                } else {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            scalars = lowered
        }
        return scalars
    }

    /// Characters the reference removes: general category C* (control, format, unassigned, private use,
    /// surrogate) except tab, newline and carriage return, which count as whitespace.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// Unicode White_Space (Rust's char::is_whitespace), which includes tab, newline and carriage return.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// The CJK Unified Ideographs blocks (not Japanese kana or Korean Hangul), as BERT defines them.
    static func isChineseChar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// ASCII punctuation and symbols (`$`, `+`, `<`, `^`, `` ` ``, `|`, `~` included) and Unicode P*.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value) {
            return true
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    // MARK: Pre-tokeniser (BertPreTokenizer: split on whitespace, isolate punctuation)

    func words(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start: Int? = nil
        for (index, scalar) in scalars.enumerated() {
            if Self.isWhitespace(scalar) {
                if let begin = start { words.append(scalars[begin..<index]); start = nil }
            } else if Self.isPunctuation(scalar) {
                if let begin = start { words.append(scalars[begin..<index]); start = nil }
                words.append(scalars[index...index])
            } else if start == nil {
                start = index
            }
        }
        if let begin = start { words.append(scalars[begin...]) }
        return words
    }

    // MARK: WordPiece (greedy longest match first; a word with an unmatched rest is one [UNK])

    func appendPieces(of word: ArraySlice<Unicode.Scalar>, to ids: inout [Int32]) {
        if word.count > options.maxInputCharsPerWord {
            ids.append(unkID)
            return
        }
        let mark = ids.count
        var start = word.startIndex
        while start < word.endIndex {
            var end = word.endIndex
            var found: Int32? = nil
            while start < end {
                let candidate = Array(word[start..<end])
                if let id = start == word.startIndex ? starts[candidate] : continuations[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeLast(ids.count - mark)
                ids.append(unkID)
                return
            }
            ids.append(id)
            start = end
        }
    }
}
