import ArgumentParser
import Foundation
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("CLI: experiments")
struct ExperimentsCLITests {
    @Test(
        "run against a server waits and prints the columns; list, show and compare; --fail-on-regression exits 100",
        arguments: StoreKind.available)
    func lifecycle(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let store = test.store
            let key = try await ExperimentSeed.make(store, words: ["alpha", "beta", "delta", "gamma"], templates: ["Q {{ word }}", "R {{ word }}"]).key
            let stub = try await StubUpstream.start()
            var config = TernConfig()
            config.dataDir = test.directory
            try config.apply(
                yaml: """
                    providers:
                      openai: {type: openai, base_url: "\(stub.baseURL)", api_key_env: STUB_OPENAI_KEY}
                    models:
                      echo-a:
                        deployments:
                          - {name: a, provider: openai, model: echo-a, price: {input_per_mtok: 1000, output_per_mtok: 2000}}
                      refuser:
                        deployments:
                          - {name: r, provider: openai, model: refuser}
                    """)
            let server = try await BackgroundServer.tern(store: store, config: config, environment: ["STUB_OPENAI_KEY": "sk-stub"])
            do {
                let flags = ["--server", server.baseURL, "--api-key", key]
                let assertion = #"{"type": "regex", "value": "^(Q (alpha|beta|gamma)|R (alpha|delta))$"}"#
                func run(_ prompt: String) async throws -> (String, String) {
                    let output = try await tern(
                        ["experiments", "run", "--dataset", "words", "--prompt", prompt, "--model", "echo-a", "--assert", assertion]
                            + flags)
                    let id = try #require(output.split(separator: "\n").first?.split(separator: " ").dropFirst().first.map(String.init), "\(output)")
                    return (id, output)
                }
                let (base, first) = try await run("qa@1")
                #expect(first.contains("completed"), "\(first)")
                #expect(first.contains("pass rate 75.0%"), "\(first)")
                #expect(first.contains("qa@1") && first.contains("echo-a"))
                let (head, _) = try await run("qa@2")
                let list = try await tern(["experiments", "list"] + flags)
                #expect(list.contains(base) && list.contains(head) && list.contains("words@1"), "\(list)")
                let show = try await tern(["experiments", "show", base, "--results"] + flags)
                #expect(show.contains("[PASS]") && show.contains("[FAIL]") && show.contains("Q delta"), "\(show)")
                let compare = try await tern(["experiments", "compare", base, head] + flags)
                #expect(compare.contains("McNemar's exact test") && compare.contains("REGRESSIONS (2)"), "\(compare)")
                let gate = await #expect(throws: ExitCode.self) { _ = try await tern(["experiments", "compare", base, head, "--fail-on-regression"] + flags) }
                #expect(gate == ExitCode(100))
                // Without ids: the newest run against the one before it; one id: that run against the one before it.
                let newest = try await tern(["experiments", "compare"] + flags)
                #expect(newest.contains("Comparing \(base) (base) with \(head) (head)") && newest.contains("REGRESSIONS (2)"), "\(newest)")
                #expect(try await tern(["experiments", "compare", head] + flags).contains("Comparing \(base) (base) with \(head) (head)"))
                let oldest = await #expect(throws: TernError.self) { _ = try await tern(["experiments", "compare", base] + flags) }
                #expect(oldest?.field == "base" && oldest?.message.contains("is the oldest run") == true)
                let missing = await #expect(throws: TernError.self) {
                    _ = try await tern(["experiments", "run", "--dataset", "nope", "--prompt", "qa@1", "--model", "echo-a"] + flags)
                }
                #expect(missing?.field == "dataset")
                let noKey = await #expect(throws: TernError.self) { _ = try await tern(["experiments", "list", "--server", server.baseURL, "--api-key", ""]) }
                #expect(noKey?.field == "--api-key")
                // Cells that end in an error print their reasons, and the command exits 1 (not 0 as before).
                stub.script(model: "refuser", Array(repeating: .status(400, message: "the model refused this prompt"), count: 4))
                let (errored, error) = await ternCapturing(
                    ["experiments", "run", "--dataset", "words", "--prompt", "qa@1", "--model", "refuser", "--assert", assertion] + flags)
                #expect((error as? ExitCode) == ExitCode(1), "\(String(describing: error))")
                #expect(errored.contains("4 cells ended in an error:"), "\(errored)")
                #expect(errored.contains("ERROR alpha · qa@1 · refuser: ") && errored.contains("the model refused this prompt"), "\(errored)")
            } catch {
                await server.stop()
                await stub.stop()
                throw error
            }
            await server.stop()
            await stub.stop()
        }
    }
}
