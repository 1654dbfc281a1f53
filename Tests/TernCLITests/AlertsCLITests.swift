import Foundation
import TernCore
import TernTestSupport
import Testing

import TernServer

@Suite("CLI: alerts")
struct AlertsCLITests {
    @Test("create with a signed webhook, list, test against a loopback receiver, silence, show the history, delete; bad input names the flag")
    func lifecycle() async throws {
        let receiver = try await WebhookReceiver.start()
        try await withTestStore(.sqlite) { test in
            let key = try await ExperimentSeed.make(test.store, words: ["a"], templates: ["Q {{ word }}"]).key
            var config = TernConfig()
            config.dataDir = test.directory
            config.monitoring.watchers = false
            config.alerts.enabled = false
            config.alerts.allowedHosts = ["127.0.0.1"]
            let server = try await BackgroundServer.tern(store: test.store, config: config, environment: [:])
            do {
                let flags = ["--server", server.baseURL, "--api-key", key]
                let created = try await tern(
                    [
                        "alerts", "create", "errors", "--metric", "error_rate", "--above", "0.05", "--window", "15m", "--filter", "model=gpt-4o-mini",
                        "--webhook", receiver.url("/hook"), "--secret", "cli-secret-0123456789",
                    ] + flags)
                #expect(created.contains("created alert errors: error_rate > 0.05 over 900 s, every 60 s"), "\(created)")
                let list = try await tern(["alerts", "list"] + flags)
                #expect(list.contains("errors") && list.contains("ok") && list.contains("error_rate > 0.05"), "\(list)")
                let tested = try await tern(["alerts", "test", "errors"] + flags)
                #expect(tested.contains("delivered \(receiver.url("/hook")): answered 200"), "\(tested)")
                try await receiver.waitForRequests(1)
                let received = try #require(receiver.received.first)
                #expect(received.json["kind"] as? String == "test" && received.headers["x-tern-signature"]?.hasPrefix("t=") == true)
                let silenced = try await tern(["alerts", "silence", "errors", "--for", "2h"] + flags)
                #expect(silenced.contains("errors silenced until"), "\(silenced)")
                let shown = try await tern(["alerts", "show", "errors"] + flags)
                #expect(shown.contains("test") && shown.contains("signed") && shown.contains("delivered"), "\(shown)")
                let badWindow = await ternCapturing(["alerts", "create", "x", "--metric", "cost", "--above", "1", "--window", "5x"] + flags)
                #expect((badWindow.error as? TernError)?.field == "--window", "\(String(describing: badWindow.error))")
                let badMetric = await ternCapturing(["alerts", "create", "x", "--metric", "vibes", "--above", "1"] + flags)
                #expect((badMetric.error as? TernError)?.field == "metric", "\(String(describing: badMetric.error))")
                receiver.script("/down", [.status(503)])
                _ = try await tern(["alerts", "create", "down", "--metric", "traces", "--above", "1", "--webhook", receiver.url("/down")] + flags)
                let failing = await ternCapturing(["alerts", "test", "down"] + flags)
                #expect((failing.error as? TernError)?.field == "notify" && failing.output.contains("not delivered"), "\(failing.output)")
                _ = try await tern(["alerts", "delete", "errors"] + flags)
                #expect(!(try await tern(["alerts", "list"] + flags)).contains("errors"))
                await server.stop()
            } catch {
                await server.stop()
                throw error
            }
        }
        await receiver.stop()
    }
}
