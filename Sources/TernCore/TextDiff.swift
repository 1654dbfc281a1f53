/// Line diffs for prompt versions (CLI and UI).
public enum TextDiff {
    public enum Line: Sendable, Equatable {
        case same(String), removed(String), added(String)
    }

    /// The lines of `old` and `new` aligned by their longest common subsequence.
    public static func lines(_ old: String, _ new: String) -> [Line] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return align(a, b)
    }

    /// Two sequences aligned by their longest common subsequence.
    static func align(_ a: [String], _ b: [String]) -> [Line] {
        var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out: [Line] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                out.append(.same(a[i])); i += 1; j += 1
            } else if j < b.count, i == a.count || lcs[i][j + 1] >= lcs[i + 1][j] {
                out.append(.added(b[j])); j += 1
            } else {
                out.append(.removed(a[i])); i += 1
            }
        }
        return out
    }

    /// The words of two versions of one line aligned (words, and the spaces and punctuation between
    /// them, are the units): for each side, its pieces and whether each changed. Long lines are not
    /// split (`nil`), as the alignment is quadratic.
    public static func words(_ old: String, _ new: String) -> (old: [(text: String, changed: Bool)], new: [(text: String, changed: Bool)])? {
        func tokens(_ text: String) -> [String] {
            var out: [String] = []
            var current = ""
            var wordy: Bool?
            for character in text {
                let isWord = character.isLetter || character.isNumber || character == "_"
                if let wordy, wordy == isWord, isWord {
                    current.append(character)
                } else {
                    if !current.isEmpty { out.append(current) }
                    current = String(character)
                }
                wordy = isWord
            }
            if !current.isEmpty { out.append(current) }
            return out
        }
        let a = tokens(old), b = tokens(new)
        guard a.count * b.count <= 250_000 else { return nil }
        var left: [(text: String, changed: Bool)] = []
        var right: [(text: String, changed: Bool)] = []
        func append(_ piece: String, changed: Bool, to side: inout [(text: String, changed: Bool)]) {
            if let last = side.last, last.changed == changed { side[side.count - 1].text += piece } else { side.append((piece, changed)) }
        }
        for step in align(a, b) {
            switch step {
            case .same(let token):
                append(token, changed: false, to: &left)
                append(token, changed: false, to: &right)
            case .added(let token): append(token, changed: true, to: &right)
            case .removed(let token): append(token, changed: true, to: &left)
            }
        }
        return (left, right)
    }

    /// `-`/`+`/` ` prefixed lines.
    public static func unified(_ old: String, _ new: String) -> String {
        lines(old, new).map { line in
            switch line {
            case .same(let text): "  " + text
            case .removed(let text): "- " + text
            case .added(let text): "+ " + text
            }
        }.joined(separator: "\n")
    }
}

extension PromptVersion {
    /// The version as diffable text: templates, tools, variables and model settings.
    public var diffText: String {
        var out: [String] = []
        switch kind {
        case .text: out.append(text ?? "")
        case .chat: for message in messages { out.append("[\(message.role)]"); out.append(message.content) }
        }
        out.append("variables: \(variables.joined(separator: ", "))")
        if let model = config.model { out.append("model: \(model)") }
        if let temperature = config.temperature { out.append("temperature: \(temperature)") }
        if let tokens = config.maxTokens { out.append("max_tokens: \(tokens)") }
        if let format = config.responseFormat { out.append("response_format: \(format.jsonString())") }
        if let tools = tools { out.append("tools: \(tools.jsonString())") }
        return out.joined(separator: "\n")
    }
}
