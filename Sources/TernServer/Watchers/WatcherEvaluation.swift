import Foundation
import Synchronization
import TernCore
import TernEval
import TernGateway
public import TernMonitor

/// How the server evaluates a watched trace: the watcher's assertions through the evaluators of `tern eval`
/// and experiments; model-graded ones call judges through the gateway under the key that created the
/// watcher (its limits and budget apply), as watcher traffic (kept out of production views).
public enum WatcherEvaluation {
    /// Deterministic assertions only (no judges): what `tern-bench watch` measures.
    public static func deterministic() -> WatcherRunner.Evaluate {
        let registry = EvaluatorRegistry.deterministic()
        return { watcher, item in try await evaluate(watcher, item, registry: registry) }
    }

    /// Decoded assertions by watcher id and version: decoding them for every trace cost more than evaluating.
    private static let decoded = Mutex<[String: [AssertionSpec]]>([:])

    static func specs(_ watcher: Watcher) throws -> [AssertionSpec] {
        let key = "\(watcher.id)@\(watcher.version)"
        if let known = decoded.withLock({ $0[key] }) { return known }
        let specs: [AssertionSpec]
        do {
            specs = try JSONDecoder().decode([AssertionSpec].self, from: Data(watcher.definition.assertions.jsonString().utf8))
        } catch {
            throw WatcherEvaluationError("the watcher's assertions cannot be read: \(error)", final: true)
        }
        decoded.withLock { cache in
            if cache.count > 1000 { cache.removeAll() }
            cache[key] = specs
        }
        return specs
    }

    static func make(store: any TernStore, gateway: Gateway) -> WatcherRunner.Evaluate {
        { watcher, item in
            var registry = EvaluatorRegistry.deterministic()
            if let keyID = watcher.keyID, let key = try await store.apiKeys.get(projectID: watcher.projectID, id: keyID) {
                if key.revokedAt != nil {
                    throw WatcherEvaluationError(
                        "the key that created the watcher (\(key.prefix)...) is revoked: recreate the watcher with a live key", final: true)
                }
                let client = GatewayModelClient(
                    gateway: gateway, key: key, experimentID: "watcher:\(watcher.name)", tag: "watcher-judge", origin: TraceOrigin.watcher)
                registry.registerModelGraded(graders: GatewayGraderProvider(client: client, defaultJudge: nil, defaultEmbedder: nil))
            }
            return try await evaluate(watcher, item, registry: registry)
        }
    }

    static func evaluate(_ watcher: Watcher, _ item: WatchedItem, registry: EvaluatorRegistry) async throws -> WatcherVerdict {
        let specs = try specs(watcher)
        var metadata: [String: JSONValue] = [:]
        if let model = item.observation?.model { metadata["model"] = .string(model) }
        let latency = (item.observation?.endTime ?? item.trace.endTime).map {
            $0.timeIntervalSince(item.observation?.startTime ?? item.trace.startTime) * 1000
        }
        let input = EvaluationCase(
            output: item.output, vars: ["input": .string(item.input)], prompt: item.input, latencyMs: latency, cost: item.observation?.cost,
            metadata: metadata)
        let result = await registry.evaluate(specs: specs, threshold: watcher.definition.threshold, input: input)
        if result.isError { throw WatcherEvaluationError(result.reason, cost: result.gradingCost) }
        return WatcherVerdict(
            score: result.score, passed: result.pass, reason: result.reason, cost: result.gradingCost, judgeTraceID: result.gradingTraceIDs.last)
    }
}
