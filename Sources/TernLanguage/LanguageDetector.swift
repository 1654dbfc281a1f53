// Language identification for trace inputs: a Swift port of Google's language-detection
// algorithm (Nakatani Shuyo, Cybozu Labs) as implemented by the PyPI package `langdetect`
// 1.0.9 (Apache-2.0; see third_party/langdetect/ and docs/LANGUAGE_DETECTION.md).
//
// Faithful to langdetect's Detector: URL/e-mail removal, Vietnamese normalisation, the
// max-text-length cut with space collapsing, Latin removal for mostly non-Latin text,
// NGram normalisation (Unicode blocks, Latin-1 exclusions, Romanian comma letters, Arabic
// yeh, Vietnamese, kana/bopomofo/hangul classes, CJK kanji classes), 1- to 3-grams with the
// capital-word rule, 7 trials of naive-Bayes updates with alpha = 0.5 + N(0,1) * 0.05, and
// the same pseudo-random sequence as Python's `random.Random` with `DetectorFactory.seed = 0`,
// so for the same text it normally returns exactly what Python langdetect returns.

/// One candidate language and its posterior probability (0...1).
public struct DetectedLanguage: Sendable, Equatable, Hashable {
    /// langdetect's code: ISO 639-1 (`en`, `de`, ...) plus `zh-cn` / `zh-tw`.
    public let code: String
    public let probability: Double

    public init(code: String, probability: Double) {
        self.code = code
        self.probability = probability
    }
}

/// Identifies the language of a text among langdetect's 55 languages.
///
/// Immutable and thread-safe: every call works on its own local state; the profiles are
/// parsed once per process, on first use (15-30 ms in a release build).
///
/// With `koreanRequiresHangul: false` the answers are those of Python langdetect 1.0.9 with
/// `DetectorFactory.seed = 0` (and `max_text_length` = `maxTextLength`). The default (`true`)
/// fixes langdetect's best-known error, Chinese (and kanji-only Japanese) detected as Korean
/// because the Korean profile is full of hanja: when the text contains no Hangul at all,
/// Korean gets a prior probability of 0 - exactly langdetect's `set_prior_map` with every
/// other language at 1.
public final class LanguageDetector: Sendable {
    /// The process-wide detector with the default settings.
    public static let shared = LanguageDetector()

    /// Default for `maxTextLength`: langdetect's own (10,000 code points).
    public static let defaultMaxTextLength = 10_000

    /// Default for `minimumProbability`: `detect` returns nil below this.
    public static let defaultMinimumProbability = 0.5

    /// Default for `minimumLetters`: below 20 letters in a shared script, 16-78% of the held-out
    /// sample's Latin texts got the right label; from 20 letters 94% (docs/LANGUAGE_DETECTION.md).
    public static let defaultMinimumLetters = 20

    /// The code of a text in words too few to tell the language (ISO 639-2 `und`).
    public static let undetermined = "und"

    /// Code points of (URL/e-mail-stripped) text analysed, as langdetect's `max_text_length`.
    /// Raw input is first cut at 4x this, so the cost stays bounded for huge inputs.
    public let maxTextLength: Int
    /// `detect` answers nil when the best language's probability is below this.
    public let minimumProbability: Double
    /// Rule out Korean for text without Hangul (see the type's documentation).
    public let koreanRequiresHangul: Bool
    /// `detect` answers nil for text with fewer letters than this in scripts that several languages
    /// share (Latin, Cyrillic, Arabic, Devanagari): "hello" is not Finnish. Text mostly in a script
    /// of its own (Han, kana, Hangul, Thai, Greek, Hebrew, Bengali, Gurmukhi, Gujarati, Tamil,
    /// Telugu, Kannada, Malayalam) is told apart from a single letter.
    public let minimumLetters: Int

    // langdetect's Detector constants.
    static let alphaDefault = 0.5
    static let alphaWidth = 0.05
    static let iterationLimit = 1000
    static let probThreshold = 0.1
    static let convThreshold = 0.99999
    static let baseFreq = 10_000.0
    static let trials = 7

    public init(
        maxTextLength: Int = LanguageDetector.defaultMaxTextLength,
        minimumProbability: Double = LanguageDetector.defaultMinimumProbability,
        koreanRequiresHangul: Bool = true,
        minimumLetters: Int = LanguageDetector.defaultMinimumLetters
    ) {
        precondition(maxTextLength > 0, "maxTextLength must be positive")
        self.maxTextLength = maxTextLength
        self.minimumProbability = minimumProbability
        self.koreanRequiresHangul = koreanRequiresHangul
        self.minimumLetters = minimumLetters
    }

    /// The 55 language codes covered, sorted.
    public var languages: [String] { LanguageModel.embedded.languages }

    /// The most probable language, or nil when the text has nothing to go on (no letters,
    /// no known n-gram), too few letters (`minimumLetters`) or the best probability is below
    /// `minimumProbability`.
    public func detect(_ text: String) -> DetectedLanguage? {
        let cleaned = Self.prepareText(text, model: LanguageModel.embedded, maxTextLength: maxTextLength)
        guard Self.hasEnoughLetters(cleaned, minimum: minimumLetters),
            let best = probabilities(cleaned: cleaned).first, best.probability >= minimumProbability
        else {
            return nil
        }
        return best
    }

    /// The language segment of a trace's text: the detected code; `und` when the text has letters
    /// but `detect` cannot tell (too short, or unsure); nil when it has no letters at all.
    public func segment(_ text: String) -> String? {
        if let found = detect(text) { return found.code }
        return text.unicodeScalars.contains(where: \.properties.isAlphabetic) ? Self.undetermined : nil
    }

    /// Whether the text has `minimum` letters, or is mostly in a script of a single language.
    static func hasEnoughLetters(_ cleaned: [UInt32], minimum: Int) -> Bool {
        var letters = 0
        var distinctive = 0
        for value in cleaned {
            guard let scalar = Unicode.Scalar(value), scalar.properties.isAlphabetic else { continue }
            letters += 1
            if letters >= minimum { return true }
            if isDistinctiveScript(value) { distinctive += 1 }
        }
        return letters > 0 && distinctive * 2 >= letters
    }

    /// Letters of scripts that one language of the 55 (or Chinese and Japanese alone) writes with.
    static func isDistinctiveScript(_ c: UInt32) -> Bool {
        switch c {
        case 0x0370...0x03FF, 0x1F00...0x1FFF: return true  // Greek
        case 0x0590...0x05FF: return true  // Hebrew
        case 0x0980...0x0DFF: return true  // Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala
        case 0x0E00...0x0E7F: return true  // Thai
        case 0x3040...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F: return true  // kana
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return true  // Han
        case 0x1100...0x11FF, 0x3130...0x318F, 0xA960...0xA97F, 0xAC00...0xD7FF: return true  // Hangul
        default: return false
        }
    }

    /// langdetect's `detect_langs`: the languages with probability > 0.1, most probable first.
    /// Empty when the text has no usable feature (where langdetect raises "No features in text").
    public func probabilities(_ text: String) -> [DetectedLanguage] {
        probabilities(cleaned: Self.prepareText(text, model: LanguageModel.embedded, maxTextLength: maxTextLength))
    }

    func probabilities(cleaned: [UInt32]) -> [DetectedLanguage] {
        let model = LanguageModel.embedded
        let ngrams = Self.extractNGrams(cleaned, model: model)
        if ngrams.isEmpty { return [] }

        let count = model.languages.count
        var prior = [Double](repeating: 1.0 / Double(count), count: count)
        if koreanRequiresHangul, let korean = model.koreanIndex, !cleaned.contains(where: Self.isHangul) {
            // set_prior_map({every language but ko: 1}): each gets 1 / (count - 1).
            prior = [Double](repeating: 1.0 / Double(count - 1), count: count)
            prior[korean] = 0
        }
        let prob = Self.runTrials(ngrams, prior: prior, model: model)

        var ranked: [(index: Int, p: Double)] = []
        for (i, p) in prob.enumerated() where p > Self.probThreshold {
            ranked.append((i, p))
        }
        // list.sort(reverse=True) is stable: equal probabilities keep language order.
        ranked.sort { $0.p != $1.p ? $0.p > $1.p : $0.index < $1.index }
        return ranked.map { DetectedLanguage(code: model.languages[$0.index], probability: $0.p) }
    }

    /// Hangul Jamo, Compatibility Jamo, Jamo Extended-A/B, Hangul Syllables.
    static func isHangul(_ c: UInt32) -> Bool {
        switch c {
        case 0x1100...0x11FF, 0x3130...0x318F, 0xA960...0xA97F, 0xAC00...0xD7FF: return true
        default: return false
        }
    }

    // MARK: - Detector._detect_block

    /// The trials of `_detect_block` over the extracted n-gram rows; returns `langprob`.
    static func runTrials(_ ngrams: [Int32], prior: [Double], model: LanguageModel) -> [Double] {
        let languageCount = model.languages.count
        var langprob = [Double](repeating: 0, count: languageCount)
        var random = PythonRandom.seededZero
        var prob = [Double](repeating: 0, count: languageCount)

        model.entryStart.withUnsafeBufferPointer { entryStart in
            model.entryLanguage.withUnsafeBufferPointer { entryLanguage in
                model.entryProbability.withUnsafeBufferPointer { entryProbability in
                    var savedStorage = [Double](repeating: 0, count: languageCount)
                    savedStorage.withUnsafeMutableBufferPointer { saved in
                        prob.withUnsafeMutableBufferPointer { prob in
                            for _ in 0..<trials {
                                for j in 0..<languageCount { prob[j] = prior[j] }
                                let alpha = alphaDefault + random.gauss() * alphaWidth
                                let weight = alpha / baseFreq
                                var i = 0
                                while true {
                                    // _update_lang_prob: prob[j] *= weight + p[j], where p[j] = 0 (so the factor is
                                    // exactly `weight`) for the languages without this n-gram. Done as one dense
                                    // pass plus a fix-up of the few languages that have it, on their old values.
                                    let row = Int(ngrams[random.below(ngrams.count)])
                                    let eStart = Int(entryStart[row])
                                    let eEnd = Int(entryStart[row + 1])
                                    for e in eStart..<eEnd {
                                        saved[e - eStart] = prob[Int(entryLanguage[e])]
                                    }
                                    for j in 0..<languageCount { prob[j] *= weight }
                                    for e in eStart..<eEnd {
                                        prob[Int(entryLanguage[e])] = saved[e - eStart] * (weight + entryProbability[e])
                                    }
                                    if i % 5 == 0 {
                                        // _normalize_prob
                                        var sum = 0.0
                                        for j in 0..<languageCount { sum += prob[j] }
                                        var maxp = 0.0
                                        for j in 0..<languageCount {
                                            let p = prob[j] / sum
                                            if maxp < p { maxp = p }
                                            prob[j] = p
                                        }
                                        if maxp > convThreshold || i >= iterationLimit { break }
                                    }
                                    i += 1
                                }
                                for j in 0..<languageCount {
                                    langprob[j] += prob[j] / Double(trials)
                                }
                            }
                        }
                    }
                }
            }
        }
        return langprob
    }

    // MARK: - Detector.append + cleaning_text

    @inline(__always) static func isASCIILetterOrBetween(_ c: UInt32) -> Bool { c >= 0x41 && c <= 0x7A }  // 'A' <= ch <= 'z'

    /// URL and e-mail removal, Vietnamese normalisation, the length cut with space collapsing,
    /// then removal of 'A'...'z' when non-Latin characters dominate.
    static func prepareText(_ text: String, model: LanguageModel, maxTextLength: Int) -> [UInt32] {
        let rawLimit = maxTextLength > Int.max / 4 ? Int.max : maxTextLength * 4
        var raw: [UInt32] = []
        raw.reserveCapacity(min(text.utf8.count, rawLimit))
        for s in text.unicodeScalars {
            if raw.count >= rawLimit { break }
            raw.append(s.value)
        }
        raw = removeURLs(raw)
        raw = removeEmails(raw)
        raw = normalizeVietnamese(raw, model: model)

        var out: [UInt32] = []
        out.reserveCapacity(min(raw.count, maxTextLength))
        var pre: UInt32 = 0
        for i in 0..<min(raw.count, maxTextLength) {
            let ch = raw[i]
            if ch != 0x20 || pre != 0x20 { out.append(ch) }
            pre = ch
        }

        // cleaning_text. (langdetect compares unicode_block()'s integer result with the string
        // 'Latin Extended Additional', which is never equal, so every ch >= U+0300 counts.)
        var latin = 0
        var nonLatin = 0
        for ch in out {
            if isASCIILetterOrBetween(ch) {
                latin += 1
            } else if ch >= 0x300 {
                nonLatin += 1
            }
        }
        if latin * 2 < nonLatin {
            out.removeAll(where: isASCIILetterOrBetween)
        }
        return out
    }

    /// `[-_.?&~;+=/#0-9A-Za-z]`
    @inline(__always) static func isURLChar(_ c: UInt32) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x2D, 0x5F, 0x2E, 0x3F, 0x26, 0x7E, 0x3B, 0x2B, 0x3D, 0x2F, 0x23: return true
        default: return false
        }
    }

    /// `[-_.0-9A-Za-z]`
    @inline(__always) static func isMailChar(_ c: UInt32) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x5F, 0x2E: return true
        default: return false
        }
    }

    /// `[-_0-9A-Za-z]`
    @inline(__always) static func isMailDomainChar(_ c: UInt32) -> Bool {
        c != 0x2E && isMailChar(c)
    }

    /// `re.sub(r'https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}', ' ', text)`
    static func removeURLs(_ a: [UInt32]) -> [UInt32] {
        let n = a.count
        var out: [UInt32] = []
        out.reserveCapacity(n)
        var i = 0
        while i < n {
            if a[i] == 0x68, i + 7 < n, a[i + 1] == 0x74, a[i + 2] == 0x74, a[i + 3] == 0x70 {
                var j = i + 4
                if a[j] == 0x73 { j += 1 }
                if j + 3 < n, a[j] == 0x3A, a[j + 1] == 0x2F, a[j + 2] == 0x2F {
                    let start = j + 3
                    var k = start
                    while k < n, k - start < 2076, isURLChar(a[k]) { k += 1 }
                    if k > start {
                        out.append(0x20)
                        i = k
                        continue
                    }
                }
            }
            out.append(a[i])
            i += 1
        }
        return out
    }

    /// `re.sub(r'[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}', ' ', text)`
    /// with Python's leftmost, greedy, non-overlapping semantics.
    static func removeEmails(_ a: [UInt32]) -> [UInt32] {
        let n = a.count
        var out: [UInt32] = []
        out.reserveCapacity(n)
        var copied = 0  // a[..<copied] is already handled
        var at = 0
        while at < n {
            guard a[at] == 0x40 else { at += 1; continue }
            // Leftmost start: the C1 run before '@', at most 64 long, not before the last match.
            var start = at
            let lowest = max(copied, at - 64)
            while start > lowest, isMailChar(a[start - 1]) { start -= 1 }
            guard start < at, at + 2 < n, isMailDomainChar(a[at + 1]), isMailChar(a[at + 2]) else {
                at += 1
                continue
            }
            let k = at + 1
            var first = 0
            while k + first < n, first < 255, isMailDomainChar(a[k + first]) { first += 1 }
            var second = 0
            while k + first + second < n, second < 255, isMailChar(a[k + first + second]) { second += 1 }
            let end = k + first + second  // (second == 0 means backtracking by one: same end)
            out.append(contentsOf: a[copied..<start])
            out.append(0x20)
            copied = end
            at = end
        }
        out.append(contentsOf: a[copied..<n])
        return out
    }

    /// `NGram.normalize_vi`: letter + combining mark -> precomposed letter.
    static func normalizeVietnamese(_ a: [UInt32], model: LanguageModel) -> [UInt32] {
        let n = a.count
        var out: [UInt32] = []
        out.reserveCapacity(n)
        var i = 0
        while i < n {
            let c = a[i]
            if c < 0x41 || c > 0x1B0 || i + 1 >= n {  // fast path: outside TO_NORMALIZE_VI_CHARS' range
                out.append(c)
                i += 1
                continue
            }
            if let letter = model.viAlphabet[c], let mark = model.viMarks[a[i + 1]] {
                out.append(model.viNormalized[mark][letter])
                i += 2
            } else {
                out.append(c)
                i += 1
            }
        }
        return out
    }

    // MARK: - NGram

    /// `NGram.normalize`.
    @inline(__always)
    static func normalize(_ ch: UInt32, model: LanguageModel) -> UInt32 {
        switch ch {
        case 0...0x7F:  // Basic Latin
            if ch < 0x41 || (ch > 0x5A && ch < 0x61) || ch > 0x7A { return 0x20 }
            return ch
        case 0x80...0xFF:  // Latin-1 Supplement
            return model.latin1Excluded[Int(ch &- 0x80)] ? 0x20 : ch
        case 0x180...0x24F:  // Latin Extended-B: Romanian comma-below -> cedilla
            if ch == 0x219 { return 0x15F }
            if ch == 0x21B { return 0x163 }
            return ch
        case 0x2000...0x206F:  // General Punctuation
            return 0x20
        case 0x600...0x6FF:  // Arabic: Farsi yeh -> Arabic yeh
            return ch == 0x6CC ? 0x64A : ch
        case 0x1E00...0x1EFF:  // Latin Extended Additional
            return ch >= 0x1EA0 ? 0x1EC3 : ch
        case 0x3040...0x309F:  // Hiragana
            return 0x3042
        case 0x30A0...0x30FF:  // Katakana
            return 0x30A2
        case 0x3100...0x312F, 0x31A0...0x31BF:  // Bopomofo (+ Extended)
            return 0x3105
        case 0x4E00...0x9FFF:  // CJK Unified Ideographs
            return model.cjkMap[Int(ch &- 0x4E00)]
        case 0xAC00...0xD7AF:  // Hangul Syllables
            return 0xAC00
        default:
            return ch
        }
    }

    /// Python's `str.isupper()` for one character.
    @inline(__always)
    static func isUpper(_ ch: UInt32) -> Bool {
        if ch < 0x80 { return ch >= 0x41 && ch <= 0x5A }
        guard let s = Unicode.Scalar(ch) else { return false }
        return s.properties.isUppercase
    }

    /// `Detector._extract_ngrams`: rows of the known 1- to 3-grams, in text order.
    static func extractNGrams(_ text: [UInt32], model: LanguageModel) -> [Int32] {
        var result: [Int32] = []
        result.reserveCapacity(text.count * 3)
        // NGram.grams: g0 g1 g2, `count` of them in use (the last one is the newest).
        var g0: UInt32 = 0x20, g1: UInt32 = 0, g2: UInt32 = 0
        var count = 1
        var capitalWord = false
        for raw in text {
            let ch = normalize(raw, model: model)
            let last: UInt32 = count == 1 ? g0 : (count == 2 ? g1 : g2)
            if last == 0x20 {
                g0 = 0x20
                count = 1
                capitalWord = false
                if ch == 0x20 { continue }
            } else if count >= 3 {
                g0 = g1
                g1 = g2
                count = 2
            }
            switch count {
            case 1: g1 = ch
            default: g2 = ch
            }
            count += 1
            if isUpper(ch) {
                if isUpper(last) { capitalWord = true }
            } else {
                capitalWord = false
            }
            if capitalWord { continue }

            // grams[-1:], grams[-2:], grams[-3:]; ' ' alone is skipped.
            if ch != 0x20, let r = model.row(LanguageModel.key(ch)) { result.append(r) }
            if count == 2 {
                if let r = model.row(LanguageModel.key(g0, g1)) { result.append(r) }
            } else {
                if let r = model.row(LanguageModel.key(g1, g2)) { result.append(r) }
                if let r = model.row(LanguageModel.key(g0, g1, g2)) { result.append(r) }
            }
        }
        return result
    }
}
