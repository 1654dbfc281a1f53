import Foundation
import TernCore
import TernGateway
import TernProviders

/// Draws the generator makes for the data (SplitMix64 is TernCore's).
extension SplitMix64 {
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Standard normal (Box-Muller).
    mutating func normal() -> Double {
        let u1 = max(unit(), 1e-12)
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Log-normal with the given median and sigma (of the log).
    mutating func logNormal(median: Double, sigma: Double) -> Double { median * exp(sigma * normal()) }

    mutating func pick<T>(_ choices: Weighted<T>) -> T { choices.pick(unit()) }
}

/// Values with weights, picked by a uniform draw.
struct Weighted<T>: @unchecked Sendable {
    let values: [T]
    let cumulative: [Double]

    init(_ pairs: [(T, Double)]) {
        values = pairs.map(\.0)
        var total = 0.0
        var sums: [Double] = []
        for (_, weight) in pairs {
            total += weight
            sums.append(total)
        }
        cumulative = sums.map { $0 / total }
    }

    func pick(_ u: Double) -> T {
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > u { high = mid } else { low = mid + 1 }
        }
        return values[low]
    }
}

/// A model of the fleet: provider, relative speed, weight in traffic.
struct ModelProfile: Sendable {
    var name: String
    var provider: String
    var weight: Double
    /// Milliseconds per output token.
    var msPerToken: Double
    var deployments: [(String, Double)]
}

/// The realistic spread the seed draws from. Everything is a pure function of the seed.
struct TraceGenerator: Sendable {
    let seed: UInt64
    let projectID: String
    let users: Int
    let prices = PriceTable.shared

    static let models: [ModelProfile] = [
        ModelProfile(name: "gpt-4o-mini", provider: "openai", weight: 42, msPerToken: 9, deployments: [("openai-us", 0.8), ("azure-eu", 0.2)]),
        ModelProfile(name: "gpt-4.1-mini", provider: "openai", weight: 14, msPerToken: 10, deployments: [("openai-us", 0.8), ("azure-eu", 0.2)]),
        ModelProfile(name: "claude-3-5-haiku", provider: "anthropic", weight: 10, msPerToken: 11, deployments: [("anthropic", 0.7), ("bedrock-eu", 0.3)]),
        ModelProfile(name: "gpt-4o", provider: "openai", weight: 9, msPerToken: 16, deployments: [("openai-us", 0.8), ("azure-eu", 0.2)]),
        ModelProfile(name: "gpt-4.1-nano", provider: "openai", weight: 8, msPerToken: 6, deployments: [("openai-us", 1.0)]),
        ModelProfile(name: "claude-sonnet-4", provider: "anthropic", weight: 7, msPerToken: 20, deployments: [("anthropic", 0.7), ("bedrock-eu", 0.3)]),
        ModelProfile(name: "o3", provider: "openai", weight: 3, msPerToken: 45, deployments: [("openai-us", 1.0)]),
        ModelProfile(name: "claude-opus-4", provider: "anthropic", weight: 1, msPerToken: 35, deployments: [("anthropic", 1.0)]),
    ]
    static let modelChoice = Weighted(models.indices.map { ($0, models[$0].weight) })

    struct Task: Sendable {
        var name: String
        var traceName: String
        var prompt: String
        var promptVersions: Int
        var inputTokens: Double
        var outputTokens: Double
    }

    static let tasks: [Task] = [
        Task(name: "chat", traceName: "chat-turn", prompt: "support-assistant", promptVersions: 5, inputTokens: 800, outputTokens: 180),
        Task(name: "rag-answer", traceName: "rag-query", prompt: "rag-answer", promptVersions: 6, inputTokens: 2500, outputTokens: 250),
        Task(name: "summarize", traceName: "summarize-document", prompt: "summarizer", promptVersions: 3, inputTokens: 3000, outputTokens: 300),
        Task(name: "extract", traceName: "extract-fields", prompt: "extractor", promptVersions: 2, inputTokens: 1200, outputTokens: 120),
        Task(name: "classify", traceName: "classify-ticket", prompt: "classifier", promptVersions: 4, inputTokens: 300, outputTokens: 5),
    ]
    static let taskChoice = Weighted([(0, 40.0), (1, 25), (2, 15), (3, 12), (4, 8)])
    /// nil: the client sends none (the language is detected from the input later).
    static let languageChoice = Weighted<String?>([
        ("en", 50), ("de", 9), ("fr", 8), ("es", 8), ("pt", 5), ("it", 4), ("nl", 3), ("ja", 3), ("zh-cn", 2), ("pl", 2), (nil, 6),
    ])
    static let domainChoice = Weighted([("support", 35.0), ("sales", 20), ("engineering", 15), ("finance", 12), ("legal", 10), ("healthcare", 8)])
    static let environmentChoice = Weighted([("production", 88.0), ("staging", 9), ("development", 3)])
    static let channelChoice = Weighted([("web", 50.0), ("mobile", 25), ("api", 20), ("slack", 5)])
    static let tierChoice = Weighted([("free", 60.0), ("pro", 32), ("enterprise", 8)])
    static let observationCountChoice = Weighted([(1, 30.0), (2, 35), (3, 22), (4, 13)])
    static let sessionLengthChoice = Weighted([(1, 35.0), (2, 20), (3, 15), (4, 10), (5, 8), (6, 5), (7, 4), (8, 3)])
    static let errorMessages = ["upstream returned 500", "rate limited (429)", "upstream timeout after 60s", "context length exceeded"]

    static let questions: [[String]] = [
        ["How do I", "Can you help me", "I need to", "Please explain how to", "Is it possible to", "What is the best way to"],
        [
            "reset my password", "change the billing address", "export my data", "upgrade the plan", "cancel the subscription",
            "connect the Slack app", "rotate the API key", "invite a colleague", "download last month's invoice", "set up SSO",
        ],
        ["on the mobile app", "for my team", "before Friday", "without losing data", "in the EU region", "today", "", ""],
    ]
    static let refundQuestions = [
        "I want a refund for order", "Why was my refund rejected for order", "How long does a refund take for order",
        "Please refund the duplicate charge on order",
    ]
    static let answers = [
        "Sure, here are the steps", "You can do this from the settings page", "I have opened a ticket for you",
        "That is possible on the Pro plan", "Our team will follow up by e-mail", "Here is a short summary",
        "The document covers three points", "Extracted 4 fields", "Category: billing", "Category: technical",
    ]

    /// One trace's position: start time, session and user (drawn in the session phase).
    struct Slot: Sendable {
        var start: Int64
        var session: Int32
        var user: Int32
        var sessioned: Bool
    }

    /// Draws the sessions and their traces' start times over `[end - days, end)`: a daily cycle (peak
    /// 15:00 UTC, about 4x the 03:00 trough), quieter weekends, slow growth over the range. Users are
    /// Zipf-distributed. Returns the slots sorted by time.
    func slots(count: Int, end: Int64, days: Int) -> [Slot] {
        let hourMicros: Int64 = 3_600_000_000
        let hours = days * 24
        let firstHour = end - Int64(hours) * hourMicros
        var weights: [(Int, Double)] = []
        for slot in 0..<hours {
            let micros = firstHour + Int64(slot) * hourMicros
            let hourOfDay = Double((micros / hourMicros) % 24)
            let weekday = ((micros / (24 * hourMicros)) + 3) % 7  // 0 = Monday (1970-01-01 was a Thursday)
            var weight = 1 + 0.6 * sin(2 * .pi * (hourOfDay - 9) / 24)
            if weekday >= 5 { weight *= 0.6 }
            weight *= 0.8 + 0.4 * Double(slot) / Double(max(1, hours))
            weights.append((slot, weight))
        }
        let hourChoice = Weighted(weights)
        // Zipf over users (s = 1.05).
        var userCDF: [Double] = []
        var total = 0.0
        for rank in 1...max(1, users) {
            total += 1 / pow(Double(rank), 1.05)
            userCDF.append(total)
        }
        userCDF = userCDF.map { $0 / total }
        let userChoice = Weighted(userCDF.indices.map { ($0, $0 == 0 ? userCDF[0] : userCDF[$0] - userCDF[$0 - 1]) })

        var rng = SplitMix64(seed: seed, stream: 1, index: 0)
        var out: [Slot] = []
        out.reserveCapacity(count)
        var session: Int32 = 0
        while out.count < count {
            let length = rng.pick(Self.sessionLengthChoice)
            let user = Int32(rng.pick(userChoice))
            let sessioned = rng.chance(0.85)
            var at = firstHour + Int64(rng.pick(hourChoice)) * hourMicros + Int64(rng.unit() * Double(hourMicros))
            for _ in 0..<length where out.count < count {
                if at >= end { break }
                out.append(Slot(start: at, session: session, user: user, sessioned: sessioned))
                at += Int64(rng.logNormal(median: 40, sigma: 1.0) * 1_000_000) + 1_000_000
            }
            session += 1
        }
        out.sort { ($0.start, $0.session) < ($1.start, $1.session) }
        return out
    }

    /// A UUID version 7 for a time, its random bits from `rng`: ids sort by time as the server's do.
    static func id(micros: Int64, _ rng: inout SplitMix64) -> String {
        TernID.makeTimeOrdered(millis: UInt64(max(0, micros / 1000)), using: &rng)
    }

    /// What a whole session shares: task, language, domain, environment, channel, experiment arm.
    struct SessionTraits {
        var task: Int
        var language: String?
        var domain: String
        var environment: String
        var tags: [String]
        var variant: String?
        var tier: String
        var release: String
    }

    func traits(session: Int32) -> SessionTraits {
        var rng = SplitMix64(seed: seed, stream: 2, index: UInt64(session))
        var tags = [rng.pick(Self.channelChoice)]
        if rng.chance(0.05) { tags.append("vip") }
        if rng.chance(0.08) { tags.append("beta") }
        var variant: String?
        if rng.chance(0.10) {
            tags.append("experiment")
            variant = rng.chance(0.5) ? "a" : "b"
        }
        return SessionTraits(
            task: rng.pick(Self.taskChoice), language: rng.pick(Self.languageChoice), domain: rng.pick(Self.domainChoice),
            environment: rng.pick(Self.environmentChoice), tags: tags, variant: variant, tier: rng.pick(Self.tierChoice),
            release: "2026.11.\(1 + rng.below(6))")
    }

    /// The trace at `index` (in time order) with its observations and scores.
    func make(index: Int, slot: Slot) -> (TraceBatchItem, [Score]) {
        var rng = SplitMix64(seed: seed, stream: 3, index: UInt64(index))
        let traits = traits(session: slot.session)
        let task = Self.tasks[traits.task]
        let traceID = Self.id(micros: slot.start, &rng)
        let refund = rng.chance(0.04)
        let input: String
        if refund {
            input = "\(Self.refundQuestions[rng.below(Self.refundQuestions.count)]) \(10_000 + rng.below(90_000))?"
        } else {
            let parts = Self.questions.map { $0[rng.below($0.count)] }.filter { !$0.isEmpty }
            input = parts.joined(separator: " ") + "?"
        }
        let isError = rng.chance(0.03)
        let answer = isError ? nil : Self.answers[rng.below(Self.answers.count)] + "."
        let primary = Self.models[rng.pick(Self.modelChoice)]
        let deployment = Weighted(primary.deployments).pick(rng.unit())
        let promptVersion: Int? =
            rng.chance(0.9) ? max(1, task.promptVersions - min(task.promptVersions - 1, Int(rng.logNormal(median: 0.6, sigma: 1.0)))) : nil
        let observationCount = rng.pick(Self.observationCountChoice)
        let generations = observationCount == 1 ? 1 : observationCount - 1 - (traits.task == 1 && observationCount > 2 ? 1 : 0)
        let errorAt = isError ? rng.below(generations) : -1

        var observations: [Observation] = []
        var at = slot.start + Int64(rng.unit() * 20_000)  // the root starts a few ms after the trace
        let rootID: String? = observationCount > 1 ? Self.id(micros: at, &rng) : nil
        var cursor = at + 1_000
        if traits.task == 1 && observationCount > 2 {
            let ms = rng.logNormal(median: 60, sigma: 0.5)
            let end = cursor + Int64(ms * 1000)
            observations.append(
                Observation(
                    id: Self.id(micros: cursor, &rng), traceID: traceID, projectID: projectID, parentID: rootID, type: .retrieval,
                    name: "vector-search", startTime: Timestamp.date(cursor), endTime: Timestamp.date(end), input: input,
                    output: "5 documents"))
            cursor = end + 500
        }
        for g in 0..<generations {
            let model = g == 0 || rng.chance(0.5) ? primary : Self.models[4]  // follow-up calls often go to the nano model
            let inTokens = max(5, Int(rng.logNormal(median: g == 0 ? task.inputTokens : 400, sigma: 0.6)))
            var outTokens = max(1, Int(rng.logNormal(median: g == 0 ? task.outputTokens : 60, sigma: 0.7)))
            let failed = g == errorAt
            if failed { outTokens = 0 }
            var ms = (250 + Double(outTokens) * model.msPerToken) * rng.logNormal(median: 1, sigma: 0.35)
            if failed { ms = rng.chance(0.3) ? 60_000 : rng.logNormal(median: 400, sigma: 0.8) }
            let start = cursor
            let end = start + Int64(ms * 1000)
            let streamed = rng.chance(0.5)
            let usage = TokenUsage(inputTokens: inTokens, outputTokens: outTokens, cachedTokens: rng.chance(0.2) ? inTokens / 2 : nil)
            let cost = prices.price(for: model.name)?.cost(usage)
            observations.append(
                Observation(
                    id: Self.id(micros: start, &rng), traceID: traceID, projectID: projectID, parentID: rootID, type: .generation,
                    name: g == 0 ? task.traceName : "follow-up", startTime: Timestamp.date(start), endTime: Timestamp.date(end),
                    completionStartTime: streamed && !failed ? Timestamp.date(start + Int64(min(ms, rng.logNormal(median: 350, sigma: 0.5)) * 1000)) : nil,
                    model: model.name, provider: model.provider, modelParameters: .object(["temperature": .number(g == 0 ? 0.2 : 0)]),
                    input: input, output: failed ? nil : answer, usage: usage, cost: cost, level: failed ? .error : .default,
                    statusMessage: failed ? Self.errorMessages[rng.below(Self.errorMessages.count)] : nil,
                    requestedModel: model.name, deployment: model.name == primary.name ? deployment : "openai-us", variant: traits.variant,
                    route: traits.variant != nil ? "split" : "rule:default", statusCode: failed ? 500 : 200,
                    promptName: promptVersion != nil ? task.prompt : nil, promptVersion: promptVersion))
            cursor = end + Int64(rng.unit() * 5_000)
            if failed { break }
        }
        if let rootID {
            observations.insert(
                Observation(
                    id: rootID, traceID: traceID, projectID: projectID, type: .span, name: task.traceName, startTime: Timestamp.date(at),
                    endTime: Timestamp.date(cursor + 1_000), input: input, output: answer, level: isError ? .error : .default), at: 0)
            at = cursor + 1_000
        } else {
            at = cursor
        }
        var metadata: [String: JSONValue] = [
            "task": .string(task.name), "domain": .string(traits.domain), "customer_tier": .string(traits.tier),
        ]
        if let language = traits.language { metadata["language"] = .string(language) }
        let userID: String? = slot.user % 25 == 24 ? nil : "user-" + padded(Int(slot.user), 5)  // 4% anonymous
        let trace = Trace(
            id: traceID, projectID: projectID, name: task.traceName, userID: userID,
            sessionID: slot.sessioned ? "sess-" + padded(Int(slot.session), 8) : nil, tags: traits.tags,
            metadata: .object(metadata), release: traits.release, environment: traits.environment, input: input, output: answer,
            startTime: Timestamp.date(slot.start), endTime: Timestamp.date(at + 2_000))
        var scores: [Score] = []
        let scoredAt = Timestamp.date(at + 5_000_000)
        if rng.chance(0.20) {
            let value = isError ? rng.unit() * 0.3 : min(1, max(0, 0.75 + 0.15 * rng.normal()))
            scores.append(
                Score(
                    id: Self.id(micros: at + 5_000_000, &rng), projectID: projectID, traceID: traceID, name: "quality", dataType: .numeric,
                    numericValue: (value * 100).rounded() / 100, source: .model, comment: nil, author: "judge:gpt-4o-mini", createdAt: scoredAt))
        }
        if rng.chance(0.05) {
            let up = rng.chance(isError ? 0.2 : 0.8)
            scores.append(
                Score(
                    id: Self.id(micros: at + 6_000_000, &rng), projectID: projectID, traceID: traceID, name: "user-feedback", dataType: .boolean,
                    numericValue: up ? 1 : 0, stringValue: up ? "true" : "false", source: .api, createdAt: scoredAt))
        }
        return (TraceBatchItem(trace: trace, observations: observations), scores)
    }
}

/// Decimal digits with leading zeros (String(format:) is slow on Linux).
func padded(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
