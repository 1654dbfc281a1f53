import ArgumentParser
import Foundation
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("CLI: watchers")
struct WatchersCLITests {
    @Test("create with assertions and filters, list, show, pause, resume and delete through a server; bad input names the flag")
    func lifecycle() async throws {
        try await withTestStore(.sqlite) { test in
            let key = try await ExperimentSeed.make(test.store, words: ["a"], templates: ["Q {{ word }}"]).key
            var config = TernConfig()
            config.dataDir = test.directory
            config.monitoring.watchers = false
            let server = try await BackgroundServer.tern(store: test.store, config: config, environment: [:])
            do {
                let flags = ["--server", server.baseURL, "--api-key", key]
                let created = try await tern(
                    [
                        "watchers", "create", "refunds", "--assert", #"{"type": "icontains", "value": "refund"}"#, "--filter", "prompt_name=support",
                        "--filter", "metadata.tier=free", "--sampling-rate", "0.5",
                    ] + flags)
                #expect(created.contains("created watcher refunds") && created.contains("version 1"), "\(created)")
                let list = try await tern(["watchers", "list"] + flags)
                #expect(list.contains("refunds") && list.contains("50.0%") && list.contains("on"), "\(list)")
                let shown = try await tern(["watchers", "show", "refunds"] + flags)
                #expect(shown.contains(#""prompt_name":"support""#) && shown.contains(#""tier":"free""#), "\(shown)")
                #expect(shown.contains("queue: 0 pending, 0 running, 0 done, 0 failed"), "\(shown)")
                _ = try await tern(["watchers", "pause", "refunds"] + flags)
                #expect(try await tern(["watchers", "list"] + flags).contains("paused"))
                _ = try await tern(["watchers", "resume", "refunds"] + flags)
                let backfill = try await tern(["watchers", "backfill", "refunds", "--from", "2026-01-01"] + flags)
                #expect(backfill.contains("started: running 0%"), "\(backfill)")
                #expect(try await tern(["watchers", "show", "refunds"] + flags).contains("backfill 2026-01-01T00:00:00"))
                let badTime = await ternCapturing(["watchers", "backfill", "refunds", "--from", "last tuesday"] + flags)
                #expect((badTime.error as? TernError)?.field == "from", "\(String(describing: badTime.error))")
                let again = await ternCapturing(["watchers", "create", "refunds", "--assert", #"{"type": "contains"}"#] + flags)
                #expect((again.error as? TernError)?.field == "name", "\(String(describing: again.error))")
                let bad = await ternCapturing(["watchers", "create", "x", "--assert", #"{"type": "contains"}"#, "--filter", "nonsense"] + flags)
                #expect((bad.error as? TernError)?.field == "--filter")
                _ = try await tern(["watchers", "delete", "refunds"] + flags)
                #expect(try await tern(["watchers", "list"] + flags).contains("no watchers"))
                await server.stop()
            } catch {
                await server.stop()
                throw error
            }
        }
    }
}
