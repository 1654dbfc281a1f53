import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TernCore
import TernEval
import TernGateway

/// Runs stored experiments in the background of the server process: each run's cells go through
/// the gateway in process (`GatewayModelClient`), are evaluated, and are written to the store in
/// small batches as they finish, so memory stays flat. Runs are tied to the process: a heartbeat
/// every few seconds marks them alive, a sweep fails the runs of a process that stopped giving
/// one (crash, kill), and a graceful shutdown fails the runs still going with a clear error.
final class ExperimentService: Service, Sendable {
    struct Job: Sendable {
        var run: ExperimentRun
        var plan: ExperimentPlan
        var key: APIKey
        var concurrency: Int
        /// The default judge and embedding models (`options.grader`, `options.embedder`).
        var grader: String?
        var embedder: String?
        var judgePrompts: JudgePrompts
        /// Whether answers are cached (`options.cache`, default true).
        var cache = true
    }

    struct Local {
        var task: Task<Void, Never>
        var finished: Signal
    }

    let store: any TernStore
    let gateway: Gateway
    let logger: Logger
    let heartbeatInterval: Duration
    /// A run whose last heartbeat is older than this belongs to a process that died.
    let staleAfter: Duration
    /// Where runs keep their response caches, one folder per project (nil: no cache).
    let cacheDirectory: URL?
    private let local = Mutex<[String: Local]>([:])
    private let stopping = Atomic<Bool>(false)

    static let interruptedError = "interrupted: the server stopped while the run was in progress; start the run again"
    static let shutdownError = "interrupted: the server shut down while the run was in progress; start the run again"

    init(
        store: any TernStore, gateway: Gateway, logger: Logger, heartbeatInterval: Duration = .seconds(5), staleAfter: Duration = .seconds(60),
        cacheDirectory: URL? = nil
    ) {
        self.cacheDirectory = cacheDirectory
        self.store = store
        self.gateway = gateway
        self.logger = logger
        self.heartbeatInterval = heartbeatInterval
        self.staleAfter = staleAfter
    }

    // MARK: - Service

    func run() async throws {
        // A SQLite file belongs to this process: whatever it left running died with it. PostgreSQL may
        // be shared by replicas, whose live runs keep a fresh heartbeat.
        await sweep(cutoff: store.backendName == "sqlite" ? Date() : Date().addingTimeInterval(-seconds(staleAfter)))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.staleAfter / 2) } catch { break }
                await self.sweep(cutoff: Date().addingTimeInterval(-self.seconds(self.staleAfter)))
            }
        }
        stopping.store(true, ordering: .sequentiallyConsistent)
        let running = local.withLock { Array($0.values) }
        for run in running { run.task.cancel() }
        for run in running { await run.task.value }
    }

    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    func sweep(cutoff: Date) async {
        do {
            let failed = try await store.experiments.failStale(before: cutoff, error: Self.interruptedError, at: Timestamp.now())
            if !failed.isEmpty { logger.warning("experiments interrupted by a stopped server marked failed", metadata: ["runs": "\(failed)"]) }
        } catch {
            logger.warning("could not sweep interrupted experiments", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Runs

    /// Starts a stored (queued) run in the background.
    func launch(_ job: Job) {
        let signal = Signal()
        let task = Task { [self] in
            await execute(job)
            _ = local.withLock { $0.removeValue(forKey: job.run.id) }
            signal.fire()
        }
        local.withLock { $0[job.run.id] = Local(task: task, finished: signal) }
    }

    /// Cancels a queued or running run; returns it as stored afterwards (nil when unknown).
    func cancel(projectID: String, id: String, by actor: String) async throws -> ExperimentRun? {
        let changed = try await store.experiments.transition(
            projectID: projectID, id: id, from: [.queued, .running], to: .cancelled,
            error: "cancelled by \(actor)", at: Timestamp.now())
        // A run of this process stops at once; a run of another replica at its next heartbeat.
        local.withLock { $0[id] }?.task.cancel()
        if let changed { return changed }
        return try await store.experiments.get(projectID: projectID, id: id)
    }

    /// The run once it has finished, or as it is when `timeout` passes first.
    func wait(projectID: String, id: String, timeout: Duration) async throws -> ExperimentRun? {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let run = try await store.experiments.get(projectID: projectID, id: id) else { return nil }
            if run.status.isFinished || ContinuousClock.now >= deadline { return run }
            if let signal = local.withLock({ $0[id]?.finished }) {
                await signal.wait(until: deadline)
            } else {
                // Running elsewhere (another replica): look again shortly.
                try? await Task.sleep(until: min(deadline, .now + .milliseconds(250)))
            }
        }
    }

    func execute(_ job: Job) async {
        let id = job.run.id
        let projectID = job.run.projectID
        let experiments = store.experiments
        do {
            guard try await experiments.transition(projectID: projectID, id: id, from: [.queued], to: .running, error: nil, at: Timestamp.now()) != nil
            else { return }  // cancelled before it started
        } catch {
            logger.error("could not start an experiment", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
            return
        }
        let sink = CellSink(store: store, projectID: projectID, experimentID: id)
        let outcome: (ExperimentStatus, String?)
        do {
            _ = try await withThrowingTaskGroup(of: Void.self) { group in
                // Heartbeats, and a cancellation made on another replica.
                group.addTask { [heartbeatInterval] in
                    while true {
                        try await Task.sleep(for: heartbeatInterval)
                        let status = try await experiments.heartbeat(projectID: projectID, id: id, at: Timestamp.now())
                        if status != .running { throw CancellationError() }
                    }
                }
                group.addTask {
                    let cache = self.cache(job)
                    let options = ExperimentOptions(concurrency: job.concurrency, retries: 2, cache: cache)
                    _ = try await ExperimentRunner.run(
                        job.plan, client: self.client(job, tag: "experiment"), registry: self.registry(job, cache: cache),
                        options: options
                    ) { result in
                        try await sink.add(Self.cell(result))
                    }
                }
                // The run's end (or its first error) ends the heartbeats.
                try await group.next()
                group.cancelAll()
            }
            try await sink.flush()
            // The cells link to their traces: have them written before the run shows as completed.
            await gateway.traces.flush(within: .seconds(5))
            outcome = (.completed, nil)
        } catch {
            // What finished before the stop is kept; the flush must not inherit the cancellation.
            _ = await Task { try? await sink.flush() }.value
            if stopping.load(ordering: .sequentiallyConsistent) {
                outcome = (.failed, Self.shutdownError)
            } else if error is CancellationError || Task.isCancelled {
                outcome = (.cancelled, nil)
            } else {
                outcome = (.failed, "\(error)")
            }
        }
        // A run cancelled meanwhile stays cancelled (with who cancelled it).
        let finished = await Task {
            try? await experiments.transition(
                projectID: projectID, id: id, from: [.running], to: outcome.0,
                error: outcome.1 ?? (outcome.0 == .cancelled ? "cancelled" : nil), at: Timestamp.now())
        }.value
        logger.info("experiment finished", metadata: ["experiment_id": "\(id)", "status": "\(finished?.status.rawValue ?? outcome.0.rawValue)"])
    }

    /// promptfoo's deterministic assertions and the model-graded ones, judged through the gateway.
    /// The run's response cache: the project's folder under `cacheDirectory` (answers never cross
    /// projects), unless the run asked for none or the folder cannot be made.
    func cache(_ job: Job) -> ResponseDiskCache? {
        guard job.cache, let cacheDirectory else { return nil }
        do {
            return try ResponseDiskCache(directory: cacheDirectory.appendingPathComponent(job.run.projectID, isDirectory: true))
        } catch {
            logger.warning("experiment response cache unavailable", metadata: ["error": "\(error)"])
            return nil
        }
    }

    func registry(_ job: Job, cache: ResponseDiskCache? = nil) -> EvaluatorRegistry {
        var registry = EvaluatorRegistry.deterministic()
        registry.registerModelGraded(
            graders: GatewayGraderProvider(
                client: client(job, tag: "experiment-judge"), defaultJudge: job.grader,
                defaultEmbedder: job.embedder, cache: cache),
            prompts: job.judgePrompts)
        return registry
    }

    func client(_ job: Job, tag: String) -> GatewayModelClient {
        GatewayModelClient(gateway: gateway, key: job.key, experimentID: job.run.id, tag: tag)
    }

    /// A finished cell as stored: an evaluation error counts as the cell's error.
    static func cell(_ result: ExperimentCellResult) -> ExperimentCell {
        let evaluation = result.evaluation
        var assertions: JSONValue?
        if let evaluation, let data = try? JSONEncoder().encode(evaluation) { assertions = try? JSONValue.parse(data) }
        let error = result.error ?? (evaluation?.isError == true ? evaluation?.reason : nil)
        return ExperimentCell(
            itemID: result.itemID, promptName: result.promptName, promptVersion: result.promptVersion, model: result.model,
            repetition: result.repetition, output: result.output, passed: result.passed, score: evaluation?.score, assertions: assertions,
            latencyMs: result.latencyMs, inputTokens: result.inputTokens, outputTokens: result.outputTokens, cost: result.cost,
            gradingInputTokens: evaluation?.gradingTokens?.input ?? 0, gradingOutputTokens: evaluation?.gradingTokens?.output ?? 0,
            gradingCost: evaluation?.gradingCost, traceID: result.traceID, error: error, createdAt: Timestamp.now())
    }
}

/// Buffers finished cells and writes them in batches (at most `batch` cells or `interval` apart).
actor CellSink {
    let store: any TernStore
    let projectID: String
    let experimentID: String
    let batch: Int
    let interval: Duration
    var buffer: [ExperimentCell] = []
    var lastFlush = ContinuousClock.now

    init(store: any TernStore, projectID: String, experimentID: String, batch: Int = 50, interval: Duration = .milliseconds(500)) {
        self.store = store
        self.projectID = projectID
        self.experimentID = experimentID
        self.batch = batch
        self.interval = interval
    }

    func add(_ cell: ExperimentCell) async throws {
        buffer.append(cell)
        if buffer.count >= batch || ContinuousClock.now - lastFlush >= interval { try await flush() }
    }

    func flush() async throws {
        lastFlush = .now
        guard !buffer.isEmpty else { return }
        let cells = buffer
        buffer = []
        try await store.experiments.addCells(projectID: projectID, experimentID: experimentID, cells, heartbeat: Timestamp.now())
    }
}

/// A one-shot event that tasks can wait for, with a deadline.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [Int: CheckedContinuation<Void, Never>], next: Int)>((false, [:], 0))

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when fired, at `deadline`, or when the task is cancelled.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }

    func wait() async {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
