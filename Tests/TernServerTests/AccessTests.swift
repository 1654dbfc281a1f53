import Foundation
import HTTPTypes
import TernCore
import TernMonitor
import TernServer
import TernTestSupport
import Testing

/// Roles, scopes and instance administration (issue 14, defect 3): a project's admin key administers its
/// project only; users, projects and models are instance administration; every endpoint is tried with
/// every kind of principal.
@Suite("Access: roles, scopes and instance administration")
struct AccessTests {
    enum Need: String, CustomStringConvertible {
        case read, write, projectAdmin, instanceAdmin, ingest, gateway, gatewayList
        var description: String { rawValue }
    }

    struct Principal {
        var name: String
        var key: String?
        var cookie: String?
        var role: Role
        var scopes: Set<KeyScope>
        var isUser: Bool { cookie != nil }

        func allowed(_ need: Need) -> Bool {
            switch need {
            case .read: scopes.contains(.read)
            case .write: scopes.contains(.write) && role >= .member
            case .projectAdmin: scopes.contains(.admin) && role == .admin
            case .instanceAdmin: scopes.contains(.instance)
            // Ingest and the gateway take project API keys, never web sessions.
            case .ingest: !isUser && scopes.contains(.ingest)
            case .gateway: !isUser && scopes.contains(.gateway)
            // Listing the gateway's models spends nothing: signed-in members see it too.
            case .gatewayList: scopes.contains(.gateway)
            }
        }
    }

    static let endpoints: [(need: Need, method: HTTPRequest.Method, path: String, body: String?)] = [
        (.read, .get, "/api/v1/projects", nil),
        (.read, .get, "/api/v1/projects/default", nil),
        (.read, .get, "/api/v1/projects/default/keys", nil),
        (.read, .get, "/api/v1/traces", nil),
        (.read, .get, "/api/v1/traces/t-1", nil),
        (.read, .get, "/api/v1/sessions", nil),
        (.read, .get, "/api/v1/metrics?from=2026-01-01&to=2026-01-02", nil),
        (.read, .get, "/api/v1/score-configs", nil),
        (.read, .get, "/api/v1/prompts", nil),
        (.read, .get, "/api/v1/prompts/p", nil),
        (.read, .get, "/api/v1/prompts/p/versions", nil),
        (.read, .get, "/api/v1/prompts/p/labels", nil),
        (.read, .post, "/api/v1/prompts/p/render", #"{"variables":{"q":"x"}}"#),
        (.read, .get, "/api/v1/datasets", nil),
        (.read, .get, "/api/v1/datasets/d", nil),
        (.read, .get, "/api/v1/datasets/d/items", nil),
        (.read, .get, "/api/v1/datasets/d/export", nil),
        (.read, .get, "/api/v1/datasets/d/stats", nil),
        (.read, .get, "/api/v1/experiments", nil),
        (.read, .get, "/api/v1/experiments/nope", nil),
        (.read, .get, "/api/v1/experiments/nope/results", nil),
        (.read, .get, "/api/v1/experiments/compare?base=a&head=b", nil),
        (.read, .get, "/api/v1/watchers", nil),
        (.read, .get, "/api/v1/watchers/nope", nil),
        (.read, .get, "/api/v1/watchers/nope/jobs", nil),
        (.read, .get, "/api/v1/watchers/nope/backfills", nil),
        (.read, .get, "/api/v1/alerts", nil),
        (.read, .get, "/api/v1/prompts/nope/promotions", nil),
        (.read, .get, "/api/v1/probes", nil),
        (.read, .get, "/api/v1/monitoring/drift-monitors", nil),
        (.read, .get, "/api/v1/monitoring/drift-monitors/nope", nil),
        (.read, .get, "/api/v1/monitoring/drift-monitors/nope/reports", nil),
        (.read, .get, "/api/v1/probes/nope", nil),
        (.read, .get, "/api/v1/probes/nope/runs", nil),
        (.read, .get, "/api/v1/alerts/nope", nil),
        (.read, .get, "/api/v1/alerts/nope/events", nil),
        (.read, .get, "/api/v1/alerts/nope/deliveries", nil),
        (.read, .get, "/api/v1/monitoring/gaps?metric=latency&by=language", nil),
        (.read, .get, "/api/v1/monitoring/drift?reference_from=2026-01-01&reference_to=2026-01-02", nil),
        (.read, .get, "/api/v1/monitoring/topics?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", nil),
        (.read, .get, "/api/v1/models", nil),
        (.read, .get, "/api/v1/models/m", nil),
        (.read, .get, "/api/v1/models/m/versions", nil),
        (.write, .post, "/api/v1/prompts", #"{"name":"NAME","prompt":"hello"}"#),
        (.write, .post, "/api/v1/prompts/p/labels", #"{"label":"staging","version":1}"#),
        (.write, .post, "/api/v1/datasets", #"{"name":"NAME"}"#),
        (.write, .post, "/api/v1/datasets/d/items", #"{"items":[{"id":"NAME","input":"q"}]}"#),
        (.write, .post, "/api/v1/datasets/d/from-traces", #"{"trace_ids":["t-1"]}"#),
        (.write, .post, "/api/v1/scores", #"{"trace_id":"t-1","name":"q","value":1}"#),
        (.write, .post, "/api/v1/score-configs", #"{"name":"NAME","data_type":"numeric"}"#),
        (.write, .post, "/api/v1/experiments/nope/cancel", nil),
        (.write, .post, "/api/v1/watchers", #"{"name":"NAME","assertions":[{"type":"contains","value":"x"}]}"#),
        (.write, .patch, "/api/v1/watchers/nope", #"{"enabled":false}"#),
        (.write, .delete, "/api/v1/watchers/nope", nil),
        (.write, .post, "/api/v1/watchers/nope/backfill", #"{"from":"2026-01-01T00:00:00Z"}"#),
        (.write, .post, "/api/v1/watchers/nope/backfills/x/cancel", nil),
        (.write, .post, "/api/v1/alerts", #"{"name":"NAME","metric":"traces","threshold":1}"#),
        (.write, .patch, "/api/v1/alerts/nope", #"{"enabled":false}"#),
        (.write, .delete, "/api/v1/alerts/nope", nil),
        (.write, .post, "/api/v1/alerts/nope/test", nil),
        (.write, .post, "/api/v1/prompts/nope/promote", #"{"version":1,"experiment":"x"}"#),
        (.write, .post, "/api/v1/probes", #"{"name":"NAME","dataset":"nope"}"#),
        (.write, .patch, "/api/v1/probes/nope", #"{"enabled":false}"#),
        (.write, .delete, "/api/v1/probes/nope", nil),
        (.write, .post, "/api/v1/probes/nope/run", nil),
        (.write, .post, "/api/v1/monitoring/drift-monitors", #"{"name":"NAME"}"#),
        (.write, .patch, "/api/v1/monitoring/drift-monitors/nope", #"{"enabled":false}"#),
        (.write, .delete, "/api/v1/monitoring/drift-monitors/nope", nil),
        (.write, .post, "/api/v1/monitoring/drift-monitors/nope/run", nil),
        (.write, .post, "/api/v1/experiments", #"{"dataset":"d","prompts":["p"],"models":["m"]}"#),
        (.write, .post, "/api/v1/datasets/d/import?format=jsonl", #"{"id":"NAME","input":"q"}"#),
        (.write, .post, "/api/v1/projects/default/keys", #"{"name":"NAME","role":"viewer"}"#),
        (.projectAdmin, .patch, "/api/v1/projects/default", #"{"retention_days":30}"#),
        (.projectAdmin, .patch, "/api/v1/projects/default/keys/KEYID", #"{"rpm":100}"#),
        (.instanceAdmin, .post, "/api/v1/projects", #"{"slug":"NAME"}"#),
        (.instanceAdmin, .get, "/api/v1/users", nil),
        (.instanceAdmin, .post, "/api/v1/users", #"{"email":"NAME@example.com","password":"long enough password"}"#),
        (.instanceAdmin, .get, "/api/v1/users/USERID", nil),
        (.instanceAdmin, .patch, "/api/v1/users/USERID", #"{"name":"Renamed"}"#),
        (
            .instanceAdmin, .put, "/api/v1/models/m",
            #"{"name":"m","deployments":[{"name":"d","provider":"local","model":"all-minilm-l6-v2"}],"routing":{"split":{},"rules":[],"fallbacks":[],"strategy":"weighted","retries":1,"allowed_fails":3,"cooldown_seconds":30}}"#
        ),
        (.instanceAdmin, .post, "/api/v1/models/m/rollback", #"{"version":1}"#),
        (.ingest, .post, "/api/v1/ingest", #"{"batch":[{"id":"NAME","type":"trace-create","body":{"id":"NAME"}}]}"#),
        (.ingest, .post, "/v1/traces", #"{"resourceSpans":[]}"#),
        (.gatewayList, .get, "/v1/models", nil),
        (.gateway, .post, "/v1/embeddings", #"{"model":"nope","input":"x"}"#),
        (.gateway, .post, "/v1/chat/completions", #"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#),
        (.gateway, .post, "/v1/messages", #"{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
        (.instanceAdmin, .delete, "/api/v1/models/m", nil),
        (.write, .delete, "/api/v1/projects/default/keys/KEYID", nil),
    ]

    @Test("every endpoint with every kind of key and user: allowed ones never answer 401/403, the rest answer 403", arguments: StoreKind.available)
    func matrix(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            // What the endpoints name.
            #expect(
                try await h.call(
                    .post, "/api/v1/ingest", key: h.adminKey,
                    json: #"{"batch":[{"id":"e","type":"trace-create","body":{"id":"t-1","input":"hello"}}]}"#
                ).status.code == 207)
            #expect(try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: #"{"name":"p","prompt":"Q: {{q}}"}"#).status == .created)
            #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name":"d"}"#).status == .created)
            let model = AccessTests.endpoints.first { $0.method == .put }!.body!
            #expect(try await h.call(.put, "/api/v1/models/m", key: h.adminKey, json: model).status == .ok)
            let spare = try await h.call(.post, "/api/v1/projects/default/keys", key: h.adminKey, json: #"{"name":"spare","role":"viewer"}"#)
            let keyID = try #require((spare.json["id"] as? String))
            let other = try await h.call(
                .post, "/api/v1/users", key: h.adminKey,
                json: #"{"email":"other@example.com","password":"long enough password"}"#)
            let userID = try #require(other.json["id"] as? String)

            var principals: [Principal] = []
            func key(_ name: String, role: Role, scopes: [KeyScope]? = nil) async throws -> Principal {
                let (secret, key) = try await KeyIssuer.issue(
                    store: h.store, projectID: h.project.id, name: name, role: role,
                    createdBy: "test", scopes: scopes)
                return Principal(name: name, key: secret, role: role, scopes: Set(key.scopes))
            }
            principals.append(
                Principal(
                    name: "instance admin key", key: h.adminKey, role: .admin,
                    scopes: Set(Role.admin.defaultScopes + [.instance])))
            principals.append(try await key("project admin key", role: .admin))
            principals.append(try await key("member key", role: .member))
            principals.append(try await key("viewer key", role: .viewer))
            principals.append(try await key("ingest-only key", role: .member, scopes: [.ingest]))
            principals.append(try await key("gateway-only key", role: .member, scopes: [.gateway]))
            principals.append(try await key("read-only admin key", role: .admin, scopes: [.read]))
            for role in Role.allCases {
                let email = "\(role.rawValue)-user@example.com"
                #expect(
                    try await h.call(
                        .post, "/api/v1/users", key: h.adminKey,
                        json: #"{"email":"\#(email)","role":"\#(role.rawValue)","password":"long enough password"}"#
                    ).status == .created)
                let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"\#(email)","password":"long enough password"}"#)
                let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init))
                principals.append(Principal(name: "\(role.rawValue) user", cookie: cookie, role: role, scopes: role.allowedScopes))
            }

            var checked = 0
            for (index, principal) in principals.enumerated() {
                for endpoint in Self.endpoints {
                    let name = "n\(index)-\(checked)"
                    let path = endpoint.path.replacingOccurrences(of: "KEYID", with: keyID).replacingOccurrences(of: "USERID", with: userID)
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let cookie = principal.cookie { headers[.cookie] = cookie }
                    let reply = try await h.call(
                        endpoint.method, path, key: principal.key,
                        json: endpoint.body?.replacingOccurrences(of: "NAME", with: name), headers: headers)
                    let expected = principal.allowed(endpoint.need)
                    if expected {
                        #expect(
                            reply.status != .unauthorized && reply.status != .forbidden,
                            "\(principal.name) should be allowed \(endpoint.method) \(path) (\(endpoint.need)): \(reply.status) \(reply.text.prefix(200))")
                    } else {
                        #expect(
                            reply.status == .forbidden,
                            "\(principal.name) must be refused \(endpoint.method) \(path) (\(endpoint.need)): \(reply.status) \(reply.text.prefix(200))")
                    }
                    #expect(reply.status.code < 500, "\(principal.name) \(endpoint.method) \(path): \(reply.status) \(reply.text.prefix(200))")
                    checked += 1
                }
            }
            #expect(checked == principals.count * Self.endpoints.count)
        }
    }

    @Test("?project= picks the project of a signed-in user; a key stays in its own (its own slug is fine, another is refused)")
    func projectSelection() async throws {
        try await withHarness { h in
            let b = try await h.store.projects.create(slug: "b", name: "B")
            let (bKey, _) = try await KeyIssuer.issue(store: h.store, projectID: b.id, name: "b-member", role: .member, createdBy: "test")
            let ingest = #"{"batch":[{"id":"e","type":"trace-create","body":{"id":"in-b","input":"b's"}}]}"#
            #expect(try await h.call(.post, "/api/v1/ingest", key: bKey, json: ingest).status.code == 207)
            #expect(
                try await h.call(
                    .post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch":[{"id":"e","type":"trace-create","body":{"id":"in-default"}}]}"#
                ).status.code == 207)
            func ids(_ reply: Harness.Reply) -> [String] { reply.data.compactMap { $0["id"] as? String } }

            #expect(ids(try await h.call(.get, "/api/v1/traces", key: bKey)) == ["in-b"])
            #expect(ids(try await h.call(.get, "/api/v1/traces?project=b", key: bKey)) == ["in-b"], "its own project, named")
            #expect(try await h.call(.get, "/api/v1/traces?project=default", key: bKey).status == .forbidden)

            _ = try await h.call(
                .post, "/api/v1/users", key: h.adminKey, json: #"{"email":"u@example.com","role":"member","password":"correct horse"}"#)
            let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"u@example.com","password":"correct horse"}"#)
            let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            #expect(ids(try await h.call(.get, "/api/v1/traces", headers: [.cookie: cookie])) == ["in-default"], "the default project")
            #expect(ids(try await h.call(.get, "/api/v1/traces?project=b", headers: [.cookie: cookie])) == ["in-b"], "by slug")
            #expect(ids(try await h.call(.get, "/api/v1/traces?project=\(b.id)", headers: [.cookie: cookie])) == ["in-b"], "by id")
            let missing = try await h.call(.get, "/api/v1/traces?project=nope", headers: [.cookie: cookie])
            #expect(missing.status == .notFound && missing.errorField == "project")
        }
    }

    @Test("a key of another project reads nothing of this one, by id, by ?project= or by path", arguments: StoreKind.available)
    func otherProject(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            #expect(
                try await h.call(
                    .post, "/api/v1/ingest", key: h.adminKey,
                    json: #"{"batch":[{"id":"e","type":"trace-create","body":{"id":"secret-trace","input":"secret"}}]}"#
                ).status.code == 207)
            #expect(try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: #"{"name":"p","prompt":"secret"}"#).status == .created)
            #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name":"d"}"#).status == .created)
            let b = try await h.store.projects.create(slug: "b", name: "B")
            let (bAdmin, _) = try await KeyIssuer.issue(store: h.store, projectID: b.id, name: "b-admin", role: .admin, createdBy: "test")
            for path in ["/api/v1/traces/secret-trace", "/api/v1/prompts/p", "/api/v1/datasets/d", "/api/v1/datasets/d/items"] {
                #expect(try await h.call(.get, path, key: bAdmin).status == .notFound, "\(path)")
            }
            for path in [
                "/api/v1/projects/default", "/api/v1/projects/default/keys", "/api/v1/traces?project=default",
                "/api/v1/prompts?project=default", "/api/v1/datasets?project=default",
            ] {
                #expect(try await h.call(.get, path, key: bAdmin).status == .forbidden, "\(path)")
            }
            let list = try await h.call(.get, "/api/v1/traces", key: bAdmin)
            #expect(list.status == .ok && list.data.isEmpty, "\(list.text)")
            // Experiments, scores and metrics of the default project stay out of b's reach too.
            let dataset = try #require(try await h.store.datasets.get(projectID: h.project.id, name: "d"))
            _ = try await h.store.experiments.create(
                ExperimentRun(
                    id: "secret-run", projectID: h.project.id, name: "secret", datasetID: dataset.id, datasetName: "d", datasetVersion: 0,
                    prompts: ["p@1"], models: ["m"], repeats: 1, assertions: [], options: [:], plannedCells: 0, createdAt: Date(), createdBy: "test"))
            #expect(try await h.call(.get, "/api/v1/experiments/secret-run", key: h.adminKey).status == .ok)
            for path in ["/api/v1/experiments/secret-run", "/api/v1/experiments/secret-run/results"] {
                #expect(try await h.call(.get, path, key: bAdmin).status == .notFound, "\(path)")
            }
            #expect(try await h.call(.post, "/api/v1/experiments/secret-run/cancel", key: bAdmin).status == .notFound)
            // Watchers and gaps of the default project stay out of b's reach.
            let watcher = try await h.call(
                .post, "/api/v1/watchers", key: h.adminKey, json: #"{"name":"secret-watch","assertions":[{"type":"contains","value":"x"}]}"#)
            #expect(watcher.status == .created)
            for path in ["/api/v1/watchers/secret-watch", "/api/v1/watchers/secret-watch/jobs", "/api/v1/watchers/secret-watch/backfills"] {
                #expect(try await h.call(.get, path, key: bAdmin).status == .notFound, "\(path)")
            }
            #expect(try await h.call(.delete, "/api/v1/watchers/secret-watch", key: bAdmin).status == .notFound)
            #expect(
                try await h.call(.post, "/api/v1/watchers/secret-watch/backfill", key: bAdmin, json: #"{"from":"2026-01-01T00:00:00Z"}"#).status
                    == .notFound)
            _ = try await h.call(.post, "/api/v1/alerts", key: h.adminKey, json: #"{"name":"secret-alert","metric":"traces","threshold":1}"#)
            for path in ["/api/v1/alerts/secret-alert", "/api/v1/alerts/secret-alert/events", "/api/v1/alerts/secret-alert/deliveries"] {
                #expect(try await h.call(.get, path, key: bAdmin).status == .notFound, "\(path)")
            }
            #expect(try await h.call(.post, "/api/v1/alerts/secret-alert/test", key: bAdmin).status == .notFound)
            #expect(try await h.call(.delete, "/api/v1/alerts/secret-alert", key: bAdmin).status == .notFound)
            #expect(try await h.call(.get, "/api/v1/alerts", key: bAdmin).data.isEmpty)
            // Drift monitors, probes and promotions of A: unseen and untouchable with B's key.
            _ = try await h.call(.post, "/api/v1/monitoring/drift-monitors", key: h.adminKey, json: #"{"name":"secret-drift"}"#)
            _ = try await h.store.probes.create(
                Probe(
                    id: TernID.make(), projectID: h.project.id, name: "secret-probe", experiment: ["dataset": "d"], createdBy: "key:k", createdAt: Date(),
                    updatedAt: Date()))
            for path in [
                "/api/v1/monitoring/drift-monitors/secret-drift", "/api/v1/monitoring/drift-monitors/secret-drift/reports", "/api/v1/probes/secret-probe",
                "/api/v1/probes/secret-probe/runs",
            ] {
                #expect(try await h.call(.get, path, key: bAdmin).status == .notFound, "\(path)")
            }
            for path in ["/api/v1/monitoring/drift-monitors/secret-drift/run", "/api/v1/probes/secret-probe/run"] {
                #expect(try await h.call(.post, path, key: bAdmin).status == .notFound, "\(path)")
            }
            #expect(try await h.call(.delete, "/api/v1/probes/secret-probe", key: bAdmin).status == .notFound)
            #expect(try await h.call(.get, "/api/v1/probes", key: bAdmin).data.isEmpty)
            #expect(try await h.call(.get, "/api/v1/monitoring/drift-monitors", key: bAdmin).data.isEmpty)
            #expect(try await h.store.driftMonitors.get(projectID: h.project.id, name: "secret-drift") != nil, "A's monitor is still there")
            #expect(try await h.call(.get, "/api/v1/watchers", key: bAdmin).data.isEmpty)
            let gaps = try await h.call(.get, "/api/v1/monitoring/gaps?metric=latency&by=language", key: bAdmin)
            #expect(gaps.status == .ok && (gaps.json["segments"] as? [Any])?.isEmpty == true, "\(gaps.text)")
            let topics = try await h.call(.get, "/api/v1/monitoring/topics", key: bAdmin)
            #expect(topics.status == .ok && topics.json["sampled"] as? Int == 0, "A's trace is not among B's topics: \(topics.text)")
            let runs = try await h.call(.get, "/api/v1/experiments", key: bAdmin)
            #expect(runs.status == .ok && runs.data.isEmpty, "\(runs.text)")
            let score = try await h.call(.post, "/api/v1/scores", key: bAdmin, json: #"{"trace_id":"secret-trace","name":"q","value":1}"#)
            #expect(score.status == .notFound, "a score cannot land on another project's trace: \(score.text)")
            #expect(try await h.store.scores.list(projectID: h.project.id, traceID: "secret-trace").isEmpty)
            while try await MetricsEngine.refresh(h.store.metrics) > 0 {}
            let mine = try await h.call(.get, "/api/v1/metrics", key: h.adminKey)
            #expect((mine.json["totals"] as? [String: Any])?["traces"] as? Int == 1, "\(mine.text)")
            let metrics = try await h.call(.get, "/api/v1/metrics", key: bAdmin)
            #expect(metrics.status == .ok && (metrics.json["totals"] as? [String: Any])?["traces"] as? Int == 0, "\(metrics.text)")
            for path in ["/api/v1/experiments?project=default", "/api/v1/metrics?project=default"] {
                #expect(try await h.call(.get, path, key: bAdmin).status == .forbidden, "\(path)")
            }
            let projects = try await h.call(.get, "/api/v1/projects", key: bAdmin)
            #expect(projects.data.map { $0["slug"] as? String } == ["b"])
            #expect(try await h.call(.post, "/api/v1/projects/default/keys", key: bAdmin, json: #"{"name":"x"}"#).status == .forbidden)
        }
    }

    @Test(
        "a project's admin key cannot make an instance admin, create projects or change models; base URLs and key variables come from tern.yaml",
        arguments: StoreKind.available)
    func instanceAdministration(kind: StoreKind) async throws {
        try await withGateway(kind) { g in
            let h = g.h
            let (projectAdmin, _) = try await KeyIssuer.issue(store: h.store, projectID: h.project.id, name: "pa", role: .admin, createdBy: "test")
            let user = try await h.call(
                .post, "/api/v1/users", key: projectAdmin,
                json: #"{"email":"evil@example.com","role":"admin","password":"long enough password"}"#)
            #expect(user.status == .forbidden && user.errorCode == "instance_admin_required", "\(user.text)")
            #expect(try await h.store.users.get(email: "evil@example.com") == nil)
            #expect(try await h.call(.post, "/api/v1/projects", key: projectAdmin, json: #"{"slug":"x"}"#).status == .forbidden)
            let current = try await h.call(.get, "/api/v1/models/support-bot", key: projectAdmin)
            let config = try #require(current.json["config"] as? [String: Any])
            var redirected = config
            var deployments = try #require(config["deployments"] as? [[String: Any]])
            deployments[0]["base_url"] = "http://attacker.example/v1"
            deployments[0]["api_key_env"] = "AWS_SECRET_ACCESS_KEY"
            redirected["deployments"] = deployments
            let body = String(decoding: try JSONSerialization.data(withJSONObject: redirected), as: UTF8.self)
            #expect(try await h.call(.put, "/api/v1/models/support-bot", key: projectAdmin, json: body).status == .forbidden)
            // Even an instance admin cannot point a deployment at a new host or environment variable...
            let refused = try await h.call(.put, "/api/v1/models/support-bot", key: h.adminKey, json: body)
            #expect(refused.status == .forbidden && refused.errorCode == "upstream_not_configurable", "\(refused.text)")
            #expect(refused.errorField == "deployments[0].base_url")
            // ...but can change the routing among what tern.yaml configured.
            var rerouted = config
            rerouted["routing"] =
                [
                    "split": ["small": 1, "haiku": 3], "rules": [], "fallbacks": [], "strategy": "weighted", "retries": 1,
                    "allowed_fails": 3, "cooldown_seconds": 30,
                ] as [String: Any]
            let allowed = try await h.call(
                .put, "/api/v1/models/support-bot", key: h.adminKey,
                json: String(decoding: try JSONSerialization.data(withJSONObject: rerouted), as: UTF8.self))
            #expect(allowed.status == .ok, "\(allowed.text)")
            let chat = try await g.chat()
            #expect(chat.status == .ok)
            #expect(g.stub.requests.allSatisfy { $0.authorization != "Bearer " + (ProcessInfo.processInfo.environment["AWS_SECRET_ACCESS_KEY"] ?? "-") })
        }
        // With gateway.allow_api_upstreams an instance admin may name one.
        try await withGateway(kind, configure: { $0.gateway.allowAPIUpstreams = true }) { g in
            let body =
                #"{"name":"custom","deployments":[{"name":"d","provider":"openai","model":"gpt-4o-mini","base_url":"\#(g.stub.baseURL)"}],"routing":{"split":{},"rules":[],"fallbacks":[],"strategy":"weighted","retries":1,"allowed_fails":3,"cooldown_seconds":30}}"#
            let reply = try await g.h.call(.put, "/api/v1/models/custom", key: g.h.adminKey, json: body)
            #expect(reply.status == .ok, "\(reply.text)")
        }
    }

    @Test(
        "key scopes: a viewer key cannot spend money; new keys cannot exceed their creator; only an instance admin grants instance",
        arguments: StoreKind.available)
    func scopes(kind: StoreKind) async throws {
        try await withGateway(kind) { g in
            let h = g.h
            let viewer = try await h.createKey(name: "v", role: "viewer", as: h.adminKey)
            let chat = try await g.chat(key: viewer)
            #expect(chat.status == .forbidden, "\(chat.text)")
            #expect((chat.error["code"] as? String) == "insufficient_scope", "\(chat.text)")
            #expect(g.stub.requests.isEmpty, "nothing reached the upstream")

            let gatewayOnly = try await h.call(
                .post, "/api/v1/projects/default/keys", key: h.adminKey,
                json: #"{"name":"app","role":"member","scopes":["gateway"]}"#)
            #expect(gatewayOnly.status == .created, "\(gatewayOnly.text)")
            #expect(gatewayOnly.json["scopes"] as? [String] == ["gateway"])
            let app = try #require(gatewayOnly.json["key"] as? String)
            #expect(try await g.chat(key: app).status == .ok)
            #expect(try await h.call(.get, "/api/v1/traces", key: app).status == .forbidden)

            let member = try await h.createKey(name: "m", role: "member", as: h.adminKey)
            let escalate = try await h.call(
                .post, "/api/v1/projects/default/keys", key: member,
                json: #"{"name":"x","role":"member","scopes":["admin"]}"#)
            #expect(escalate.status == .badRequest && escalate.errorField == "scopes", "\(escalate.text)")
            let narrowed = try await h.call(.post, "/api/v1/projects/default/keys", key: app, json: #"{"name":"x","role":"member"}"#)
            #expect(narrowed.status == .forbidden, "a gateway-only key cannot create keys (no write scope): \(narrowed.text)")
            let (projectAdmin, _) = try await KeyIssuer.issue(store: h.store, projectID: h.project.id, name: "pa", role: .admin, createdBy: "test")
            let instance = try await h.call(
                .post, "/api/v1/projects/default/keys", key: projectAdmin,
                json: #"{"name":"x","role":"admin","scopes":["admin","instance"]}"#)
            #expect(instance.status == .forbidden, "\(instance.text)")
            let made = try await h.call(
                .post, "/api/v1/projects/default/keys", key: h.adminKey,
                json: #"{"name":"ops","role":"admin","scopes":["read","instance"]}"#)
            #expect(made.status == .created && made.json["scopes"] as? [String] == ["read", "instance"], "\(made.text)")
            let unknown = try await h.call(.post, "/api/v1/projects/default/keys", key: h.adminKey, json: #"{"name":"x","scopes":["root"]}"#)
            #expect(unknown.status == .badRequest && unknown.errorField == "scopes")
            // A viewer key made without naming scopes has its role's defaults: read.
            let listed = try await h.call(.get, "/api/v1/projects/default/keys", key: h.adminKey)
            #expect(listed.data.first { $0["name"] as? String == "v" }?["scopes"] as? [String] == ["read"])
        }
    }
}
