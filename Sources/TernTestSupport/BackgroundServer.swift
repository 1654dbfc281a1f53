import Foundation
public import Logging
public import ServiceLifecycle
public import TernCore
import TernServer

/// A server running in the background of a test on a loopback port, until `stop()`.
public struct BackgroundServer: Sendable {
    public let port: Int
    let stopper: @Sendable () async -> Void

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() async { await stopper() }

    /// Builds the service with a callback for the bound port, runs it in a service group, and
    /// returns once it listens.
    public static func start(
        logger: Logger, _ build: (_ onRunning: @escaping @Sendable (Int) async -> Void) async throws -> any Service
    )
        async throws -> BackgroundServer
    {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let service = try await build { continuation.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TernError.internalError("the server did not start") }
        return BackgroundServer(port: port) {
            await group.triggerGracefulShutdown()
            _ = await task.result
        }
    }

    /// The whole Tern application on `store` (migrated and bootstrapped) with `config`, on a free port.
    public static func tern(
        store: any TernStore, config: TernConfig, environment: [String: String] = [:],
        logger: Logger = .quiet
    ) async throws -> BackgroundServer {
        var config = config
        config.server.host = "127.0.0.1"
        config.server.port = 0
        let settings = config
        return try await start(logger: logger) { onRunning in
            let options = TernServerOptions(config: settings, hasher: .fastForTests, onServerRunning: onRunning, environment: environment)
            return try await buildApplication(store: store, options: options, logger: logger)
        }
    }
}

/// A bootstrapped store ready for experiments: the default project, a member key, a dataset `words`
/// whose items have the variable `word` (ids = words), and text prompt versions of `qa`, in order.
public struct ExperimentSeed: Sendable {
    public let project: Project
    public let key: String

    public static func make(_ store: any TernStore, words: [String], templates: [String]) async throws -> ExperimentSeed {
        _ = try await Bootstrap.prepare(store, logger: .quiet)
        guard let project = try await store.projects.get(slug: Bootstrap.defaultProjectSlug) else { throw TernError.notFound("default project") }
        let (key, _) = try await KeyIssuer.issue(store: store, projectID: project.id, name: "experiments", role: .member, createdBy: "test")
        _ = try await store.datasets.create(projectID: project.id, name: "words", description: nil)
        _ = try await store.datasets.apply(
            projectID: project.id, dataset: "words", upserts: words.map { DatasetItem(id: $0, input: ["word": .string($0)]) },
            removals: [], author: "test", message: nil)
        for template in templates {
            _ = try await store.prompts.push(
                PromptVersion(
                    projectID: project.id, name: "qa", kind: .text, text: template, variables: ["word"],
                    author: "test", createdAt: Timestamp.now()), labels: [])
        }
        return ExperimentSeed(project: project, key: key)
    }
}
