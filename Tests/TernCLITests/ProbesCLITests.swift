import Foundation
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("CLI: probes")
struct ProbesCLITests {
    @Test("create, list, run with --wait twice through a server's gateway, show the runs compared, delete; bad input names the flag")
    func lifecycle() async throws {
        try await withTestStore(.sqlite) { test in
            let key = try await ExperimentSeed.make(test.store, words: ["alpha", "beta", "delta", "gamma"], templates: ["Q {{ word }}"]).key
            let stub = try await StubUpstream.start()
            var config = TernConfig()
            config.dataDir = test.directory
            config.monitoring.watchers = false
            config.monitoring.probes = false
            config.monitoring.driftMonitors = false
            config.alerts.enabled = false
            try config.apply(
                yaml: """
                    providers:
                      openai: {type: openai, base_url: "\(stub.baseURL)", api_key_env: STUB_OPENAI_KEY}
                    models:
                      echo-a:
                        deployments:
                          - {name: a, provider: openai, model: echo-a}
                    """)
            let server = try await BackgroundServer.tern(store: test.store, config: config, environment: ["STUB_OPENAI_KEY": "sk-stub"])
            do {
                let flags = ["--server", server.baseURL, "--api-key", key]
                let created = try await tern(
                    [
                        "probes", "create", "canary", "--dataset", "words", "--prompt", "qa@1", "--model", "echo-a", "--assert",
                        #"{"type": "contains", "value": "Q"}"#,
                        "--every", "30m",
                    ] + flags)
                #expect(created.contains("created probe canary, every 1800 s"), "\(created)")
                #expect(try await tern(["probes", "list"] + flags).contains("canary"))
                let first = try await tern(["probes", "run", "canary", "--wait", "60"] + flags)
                #expect(first.contains("completed") && first.contains("no earlier completed run"), "\(first)")
                let second = try await tern(["probes", "run", "canary", "--wait", "60"] + flags)
                #expect(second.contains("no significant change against the run before (4 pairs)"), "\(second)")
                let shown = try await tern(["probes", "show", "canary"] + flags)
                #expect(
                    shown.contains("100.0%") && shown.components(separatedBy: "completed").count >= 3 && shown.contains("no significant change"), "\(shown)")
                let bad = await ternCapturing(
                    ["probes", "create", "x", "--dataset", "words", "--prompt", "qa@1", "--model", "echo-a", "--every", "soon"] + flags)
                #expect((bad.error as? TernError)?.field == "--every", "\(String(describing: bad.error))")
                _ = try await tern(["probes", "delete", "canary"] + flags)
                #expect(try await tern(["probes", "list"] + flags).contains("no probes"))
                await server.stop()
            } catch {
                await server.stop()
                await stub.stop()
                throw error
            }
            await stub.stop()
        }
    }
}
