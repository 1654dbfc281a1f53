import ArgumentParser
import Foundation
import TernLocal

/// `tern-embed-bench`: throughput of the local embedding model on batches of 32 and single-sentence
/// latency, in process, the way bench/embeddings/run.sh times the Python reference (same sentences,
/// same counts). Prints one JSON object.
@main
struct EmbedBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tern-embed-bench", abstract: "Time the local embedding model: sentences/s on batches, single-sentence latency, peak RSS.")

    @Option(name: .long, help: ArgumentHelp("JSON array of sentences (bench/embeddings/bench.py sentences).", valueName: "file"))
    var sentences: String?
    @Flag(name: .long, help: "Only pull the model when it is absent, then exit.") var pullOnly = false
    @Option(name: .long, help: "Sentences per batch.") var batchSize = 32
    @Option(name: .long, help: "Timed batches.") var batches = 30
    @Option(name: .long, help: "Timed single-sentence calls.") var singles = 300
    @Option(name: .long, help: "Local model.") var model = LocalModels.defaultModel
    @Option(name: .customLong("models-dir"), help: ArgumentHelp("Directory of local models.", valueName: "dir")) var modelsDir: String?

    func run() async throws {
        let directory = try await LocalModels.ensureInstalled(model, in: modelsDir.map { URL(fileURLWithPath: $0) })
        if pullOnly { return }
        guard let sentences else { throw ValidationError("--sentences is required") }
        let texts = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: sentences)))
        let loadStart = ContinuousClock.now
        let embedder = try LocalEmbedder(directory: directory, name: model)
        let loadSeconds = (ContinuousClock.now - loadStart).seconds

        func batch(_ index: Int) -> [String] {
            (0..<batchSize).map { texts[(index * batchSize + $0) % texts.count] }
        }
        for index in 0..<3 { _ = try await embedder.embed(batch(index)) }
        var batchSeconds: [Double] = []
        let batchCPUStart = Self.processCPUSeconds()
        for index in 0..<batches {
            let input = batch(index + 3)
            let start = ContinuousClock.now
            _ = try await embedder.embed(input)
            batchSeconds.append((ContinuousClock.now - start).seconds)
        }
        let batchCPU = Self.processCPUSeconds() - batchCPUStart
        for index in 0..<10 { _ = try await embedder.embed([texts[index % texts.count]]) }
        var singleSeconds: [Double] = []
        let singleCPUStart = Self.processCPUSeconds()
        for index in 0..<singles {
            let input = [texts[(index * 7) % texts.count]]
            let start = ContinuousClock.now
            _ = try await embedder.embed(input)
            singleSeconds.append((ContinuousClock.now - start).seconds)
        }
        let singleCPU = Self.processCPUSeconds() - singleCPUStart
        let tokens = batch(3).map { embedder.tokenizer.encode($0).count }
        let result: [String: Any] = [
            "implementation": "tern",
            "detail": "TernLocal (Swift; \(Self.openBLASCore) kernels; \(ProcessInfo.processInfo.activeProcessorCount) workers), release build",
            "load_seconds": loadSeconds,
            "batch_size": batchSize,
            "batch_seconds": batchSeconds,
            "single_seconds": singleSeconds,
            "mean_tokens_per_sentence": Double(tokens.reduce(0, +)) / Double(tokens.count),
            "peak_rss_kb": Self.peakRSSKilobytes(),
            "cpu_seconds_per_batch": batchCPU / Double(batches),
            "cpu_seconds_per_single": singleCPU / Double(singles),
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static var openBLASCore: String { LocalEmbedder.linearAlgebraBackend }

    /// CPU time of the whole process (all threads, user and system): what the work costs, whatever the load.
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func peakRSSKilobytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
