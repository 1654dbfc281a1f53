import ArgumentParser
import Foundation
import TernCore
import TernMonitor

/// `tern-bench embedding-drift`: Evidently's embedding drift methods on `--rows` reference against `--rows` current
/// vectors of 384 components (all-minilm-l6-v2's size; the vectors are made here, as cached embeddings would be
/// read): unit vectors around 12 topic centres, the current sample with a different mix of topics. Times each
/// method, median of `--runs`.
struct EmbeddingDriftBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedding-drift", abstract: "Time embedding drift (model, mmd, ratio, distance) on synthetic cached embeddings.")

    @Option(name: .long, help: "Rows of each sample.") var rows = 20_000
    @Option(name: .long, help: "Components per vector.") var dimensions = 384
    @Option(name: .long, help: "Runs per method (median).") var runs = 3
    @Option(name: .customLong("method"), help: "Methods to time (repeatable; default: all).") var methods: [String] = []

    func run() async throws { try await execute() }

    func execute() async throws {
        var random = SplitMix64(seed: 1)
        func uniform() -> Float { Float(Double(random.next() >> 11) * 0x1p-53) * 2 - 1 }
        let centres = (0..<12).map { _ in (0..<dimensions).map { _ in uniform() } }
        func sample(_ weights: [Double]) -> [[Float]] {
            let total = weights.reduce(0, +)
            return (0..<rows).map { _ in
                var pick = Double(random.next() >> 11) * 0x1p-53 * total
                var topic = 0
                while topic < weights.count - 1, pick >= weights[topic] {
                    pick -= weights[topic]
                    topic += 1
                }
                var v = centres[topic].map { $0 + 0.8 * uniform() }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for i in v.indices { v[i] /= norm }
                return v
            }
        }
        let reference = sample([4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1])
        let current = sample([3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1])
        let chosen =
            methods.isEmpty
            ? EmbeddingDriftMethod.allCases
            : try methods.map {
                guard let method = EmbeddingDriftMethod(rawValue: $0) else { throw ValidationError("--method: unknown \($0)") }
                return method
            }
        say("embedding drift, \(rows) x \(rows) vectors of \(dimensions), median of \(runs):")
        for method in chosen {
            var times: [Double] = []
            var result: EmbeddingDriftResult?
            for _ in 0..<runs {
                let start = ContinuousClock.now
                result = try DriftStatistics.embeddingDrift(reference: reference, current: current, method: method)
                let elapsed = ContinuousClock.now - start
                times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
            times.sort()
            let median = times[times.count / 2]
            say(
                String(
                    format: "  %@ %8.3f s (runs: %@)  statistic %.5f, threshold %.5f%@, drift %@",
                    method.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) as NSString, median,
                    times.map { String(format: "%.3f", $0) }.joined(separator: ", ") as NSString, result!.statistic, result!.threshold,
                    (result!.pValue.map { String(format: ", p %.3f", $0) } ?? "") as NSString, (result!.driftDetected ? "yes" : "no") as NSString))
        }
    }
}
