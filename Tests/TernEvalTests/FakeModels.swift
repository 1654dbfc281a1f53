import Foundation
import Synchronization
import TernCore
@testable import TernEval
import TernTestSupport

// The model clients the evaluation tests use in place of real models, in one place.

/// Answers "ok" to every call except those whose prompt contains `fail`, which it answers "nope",
/// and `broken`, which fail with a non-retryable error. Records the requests.
final class ScriptedModel: ModelClient, @unchecked Sendable {
    let requests = Mutex<[CompletionRequest]>([])

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        requests.withLock { $0.append(request) }
        let text = request.messages.map(\.content).joined(separator: "\n")
        if text.contains("broken") { throw CompletionError("400 bad request", retryable: false) }
        return CompletionResult(output: text.contains("fail") ? "nope" : "ok: " + text, inputTokens: 7, outputTokens: 3, cost: 0.5, latencyMs: 20)
    }
}

/// A model that answers from a rule, counts calls, fails on request, and notes peak concurrency.
/// With a `gate`, calls wait until that many are in flight at once (then the gate stays open): a runner
/// that does not reach the concurrency it was given never gets an answer (the test's time limit ends it).
final class FakeModel: ModelClient, @unchecked Sendable {
    let calls = Mutex(0)
    let active = Mutex((now: 0, peak: 0))
    let failuresLeft = Mutex(0)
    let permanentFailure: Bool
    let gate: Int?
    private let gateOpen = Awaited<Void>("the calls in flight to reach the gate")

    init(transientFailures: Int = 0, permanentFailure: Bool = false, gate: Int? = nil) {
        failuresLeft.withLock { $0 = transientFailures }
        self.permanentFailure = permanentFailure
        self.gate = gate
    }

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        calls.withLock { $0 += 1 }
        let inFlight = active.withLock {
            $0.now += 1; $0.peak = max($0.peak, $0.now)
            return $0.now
        }
        defer { active.withLock { $0.now -= 1 } }
        if let gate {
            // Cancellation-aware and bounded: a runner that never reaches the gate fails the test, not hangs it.
            if inFlight >= gate { gateOpen.fulfil(()) }
            try await gateOpen.value()
        }
        await Task.yield()
        if permanentFailure { throw CompletionError("400 bad request", retryable: false) }
        if failuresLeft.withLock({ left in
            defer { left = max(0, left - 1) }; return left > 0
        }) {
            throw CompletionError("503 overloaded", retryable: true)
        }
        let question = request.messages.last?.content ?? ""
        // model "good" answers in capitals; "bad" echoes.
        let output = request.model == "good" ? question.uppercased() : question
        return CompletionResult(output: output, inputTokens: 10, outputTokens: 5, cost: 0.001, latencyMs: 12)
    }
}

/// A judge model that records the requests it receives and answers from a script, one reply per
/// call in order. A call beyond the script fails (so an unexpected extra call shows up as an
/// error result and in `requests.count`). Every answer reports 100 input and 10 output tokens,
/// cost 0.001 and trace id `judge-N` (N counting calls from 1).
actor FakeJudge: ModelClient {
    typealias Reply = @Sendable (CompletionRequest) throws -> String

    struct UnexpectedCall: Error {}

    private var script: [Reply]
    /// Answers every call when set (for judges called concurrently, whose order is not fixed).
    private let router: Reply?
    private(set) var requests: [CompletionRequest] = []

    init(_ answers: String...) {
        script = answers.map { answer in { _ in answer } }
        router = nil
    }

    init(replies: [Reply]) {
        script = replies
        router = nil
    }

    init(answering router: @escaping Reply) {
        script = []
        self.router = router
    }

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        requests.append(request)
        let reply: Reply
        if let router {
            reply = router
        } else {
            guard !script.isEmpty else { throw UnexpectedCall() }
            reply = script.removeFirst()
        }
        let output = try reply(request)
        return CompletionResult(output: output, inputTokens: 100, outputTokens: 10, cost: 0.001, latencyMs: 5, traceID: "judge-\(requests.count)")
    }

    /// Every message of request `index`, joined, for checking what the judge was shown.
    func shown(_ index: Int) -> String {
        requests[index].messages.map(\.content).joined(separator: "\n")
    }
}

/// An embedder with fixed vectors by text; a text without one is an error.
struct FakeEmbedder: Embedder {
    struct Unknown: Error, CustomStringConvertible {
        var text: String
        var description: String { "no vector for \"\(text)\"" }
    }

    var modelName = "fake-embedding"
    var vectors: [String: [Float]]
    var dimensions: Int { vectors.values.first?.count ?? 0 }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        try texts.map { text in
            guard let vector = vectors[text] else { throw Unknown(text: text) }
            return vector
        }
    }
}
