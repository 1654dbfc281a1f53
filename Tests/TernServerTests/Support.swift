import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TernCore
import TernGateway
import TernServer
import TernMonitor
import TernTestSupport
import Testing

/// A running Tern application on a fresh store, with an admin key for the default project.
struct Harness: Sendable {
    let client: any TestClientProtocol
    let gateway: Gateway
    let test: TestStore
    let logs: CapturedLogs
    let metrics: TernMetrics
    let project: Project
    /// The watchers' runner (tests drive its scans and queue).
    var watchers: WatcherRunner? = nil
    /// The alerts' runner (tests drive its evaluations and deliveries).
    var alerts: AlertRunner? = nil
    /// An admin key of the default project with the `instance` scope (an instance admin).
    let adminKey: String

    var store: any TernStore { test.store }

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let text: String

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
        var errorCode: String? { error["code"] as? String }
        var errorField: String? { error["field"] as? String }
        var data: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
    }

    /// Sends a request. `json` is sent as the body with `Content-Type: application/json`.
    func call(
        _ method: HTTPRequest.Method, _ path: String, key: String? = nil, json: String? = nil,
        body: ByteBuffer? = nil, headers: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = headers
        if let key { headers[.authorization] = "Bearer \(key)" }
        var payload = body
        if let json {
            payload = ByteBuffer(string: json)
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: payload) { response in
            Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    /// Creates a key through the API and returns the secret.
    func createKey(project: String = "default", name: String, role: String, as key: String) async throws -> String {
        let reply = try await call(.post, "/api/v1/projects/\(project)/keys", key: key, json: #"{"name":"\#(name)","role":"\#(role)"}"#)
        #expect(reply.status == .created, "\(reply.text)")
        return try #require(reply.json["key"] as? String)
    }
}

/// Builds the application on a fresh store of `kind` and runs `body` against it.
func withHarness(
    _ kind: StoreKind = .sqlite, setup: TestingSetup = .router, configure: @Sendable (inout TernConfig) -> Void = { _ in },
    environment: [String: String] = [:], filesystemMegabytes: Int? = nil,
    wrapStore: @Sendable (any TernStore) -> any TernStore = { $0 },
    beforeStart: @Sendable (TestStore, Project) async throws -> Void = { _, _ in },
    options adjust: @Sendable (inout TernServerOptions) -> Void = { _ in },
    _ body: @Sendable (Harness) async throws -> Void
) async throws {
    try await withTestStore(kind, filesystemMegabytes: filesystemMegabytes) { test in
        let logs = CapturedLogs()
        let logger = logs.logger(label: "tern")
        _ = try await Bootstrap.prepare(test.store, logger: logger)
        let project = try #require(try await test.store.projects.get(slug: "default"))
        // The operator's key (`tern keys create --instance-admin`): tests administer the instance with it.
        let (adminKey, _) = try await KeyIssuer.issue(
            store: test.store, projectID: project.id, name: "admin", role: .admin, createdBy: "test",
            scopes: Role.admin.defaultScopes + [.instance])
        var config = TernConfig()
        config.dataDir = test.directory  // caches (experiment answers) stay inside the test's own folder
        config.server.port = 0
        config.server.maxBodyBytes = 64 * 1024
        // Tests drive the watchers' and alerts' runners themselves (`h.watchers`, `h.alerts`): a background loop
        // would race them for the same jobs, rules and deliveries. A test that wants the loops turns them on.
        config.monitoring.watchers = false
        config.monitoring.probes = false
        config.monitoring.driftMonitors = false
        config.alerts.enabled = false
        configure(&config)
        let metrics = TernMetrics()
        var options = TernServerOptions(config: config, hasher: .fastForTests, metrics: metrics, environment: environment)
        adjust(&options)
        try await beforeStart(test, project)
        let store = wrapStore(test.store)
        let parts = try await buildGateway(store: store, options: options, logger: logger)
        let app = buildApplication(store: store, options: options, gateway: parts, logger: logger)
        try await app.test(setup) { client in
            try await body(
                Harness(
                    client: client, gateway: parts.gateway, test: test, logs: logs, metrics: metrics, project: project, watchers: parts.watchers,
                    alerts: parts.alerts,
                    adminKey: adminKey))
        }
    }
}
