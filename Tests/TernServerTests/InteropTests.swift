import Foundation
import HummingbirdTesting
import TernCore
import TernServer
import TernTestSupport
import Testing

/// The official `openai` Python package against the gateway (scripts/test installs it).
@Suite("Interop: official openai Python client", .timeLimit(.minutes(5)))
struct InteropTests {
    static var python: String { ProcessInfo.processInfo.environment["TERN_TEST_PYTHON"] ?? "python3" }

    static var openAIInstalled: Bool {
        pythonImports(python, "openai")
    }

    static var openTelemetryInstalled: Bool {
        pythonImports(python, "opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http")
    }

    static var required: Bool { ProcessInfo.processInfo.environment["TERN_TEST_REQUIRE_INTEROP"] == "1" }

    @Test("the interop run is part of scripts/test")
    func installedWhenRequired() {
        if Self.required {
            #expect(Self.openAIInstalled, "TERN_TEST_REQUIRE_INTEROP=1 but `import openai` fails in \(Self.python)")
            #expect(Self.openTelemetryInstalled, "TERN_TEST_REQUIRE_INTEROP=1 but the OpenTelemetry SDK and OTLP/HTTP exporter do not import in \(Self.python)")
        }
    }

    @Test(
        "chat, streaming, tools, embeddings, models and errors, as the SDK sees them",
        .enabled(if: InteropTests.openAIInstalled, "the openai Python package is not installed (scripts/test installs it)"))
    func openAIClient() async throws {
        let models =
            defaultModels + """

                  tools-openai:
                    deployments:
                      - {name: t, provider: openai, model: tool-get_weather}
                  tools-anthropic:
                    deployments:
                      - {name: t, provider: claude, model: tool-get_weather}
                """
        try await withGateway(setup: .live, models: models) { g in
            let port = try #require(g.h.client.port)
            let (limited, _) = try await KeyIssuer.issue(
                store: g.h.store, projectID: g.h.project.id, name: "limited", role: .member,
                createdBy: "test", limits: KeyLimits(requestsPerMinute: 1))
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Interop/openai_interop.py").path
            var environment = ProcessInfo.processInfo.environment
            environment["TERN_BASE_URL"] = "http://127.0.0.1:\(port)/v1"
            environment["TERN_KEY"] = g.h.adminKey
            environment["TERN_LIMITED_KEY"] = limited
            if InstalledModel.enabled {
                try InstalledModel.requireInstalled()
                environment["TERN_LOCAL_MODEL"] = "1"
            }
            let (status, text) = try await runExternalProcess([Self.python, script], environment: environment)
            #expect(status == 0, "\(text)")
            #expect(text.contains("all checks passed"), "\(text)")
            if environment["TERN_LOCAL_MODEL"] == "1" { #expect(text.contains("ok local.float_equals_base64"), "\(text)") }
        }
    }

    @Test(
        "the official OpenTelemetry SDK exports GenAI spans (protobuf, plain and gzip) that come out of the query API priced",
        .enabled(if: InteropTests.openTelemetryInstalled, "opentelemetry-sdk is not installed (scripts/test installs it)"))
    func openTelemetryExporter() async throws {
        try await withHarness(setup: .live) { h in
            let port = try #require(h.client.port)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Interop/otel_interop.py").path
            var environment = ProcessInfo.processInfo.environment
            environment["TERN_URL"] = "http://127.0.0.1:\(port)"
            environment["TERN_API_KEY"] = h.adminKey
            let (status, text) = try await runExternalProcess([Self.python, script], environment: environment)
            #expect(status == 0, "\(text)")
            #expect(text.contains(#""ok": true"#), "\(text)")
            #expect(try await h.store.traces.count(projectID: h.project.id) == 2, "one trace per export")
        }
    }
}
