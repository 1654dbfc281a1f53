// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "tern",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tern", targets: ["tern"]),
        .library(name: "TernCore", targets: ["TernCore"]),
        .library(name: "TernServer", targets: ["TernServer"]),
        .library(name: "TernLocal", targets: ["TernLocal"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
    ],
    targets: [
        .target(
            name: "TernCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Language identification of trace inputs (a port of langdetect); its profiles are generated data.
        .target(
            name: "TernLanguage",
            dependencies: ["TernCore"],
            swiftSettings: swiftSettings
        ),
        // What both SQL stores share: the dialect, trace filters, and SQL written once for both.
        .target(
            name: "TernStoreSQL",
            dependencies: ["TernCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernStoreSQLite",
            dependencies: [
                "TernCore",
                "TernStoreSQL",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The C API, for the ingest path's direct binding (Sources/TernStoreSQLite/RawStatement.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernStorePostgres",
            dependencies: [
                "TernCore",
                "TernStoreSQL",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernProviders",
            dependencies: [
                "TernCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Prompt design: rendering a versioned prompt's variables, the prompt definition format (REST and
        // prompts/*.yaml). The types and the registry's repository are in TernCore.
        .target(
            name: "TernPrompts",
            dependencies: ["TernCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernGateway",
            dependencies: [
                "TernCore",
                "TernPrompts",
                "TernProviders",
                "CTernSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Data collection: the REST ingest API's and OpenTelemetry's (OTLP) mappings into traces.
        .target(
            name: "TernIngest",
            dependencies: [
                "TernCore", "TernProviders",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // Data and labeling: dataset import, export and statistics.
        .target(
            name: "TernData",
            dependencies: ["TernCore"],
            swiftSettings: swiftSettings
        ),
        // Monitoring and response: the metrics engine and the monitoring job.
        .target(
            name: "TernMonitor",
            dependencies: [
                "TernCore",
                "TernEval",
                "CTernKernels",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Evaluation and experiments: the evaluator contract and registry, graders, `tern eval`'s engine.
        .target(
            name: "TernEval",
            dependencies: ["TernCore", "TernPrompts", "TernProviders"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernWeb",
            dependencies: [
                "TernCore",
                "TernPrompts",
                "TernEval",
                "TernData",
                "TernMonitor",
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // Templates, stylesheets and scripts as real files, embedded in the binary (WebFiles.swift).
            resources: [.embedInCode("Templates"), .embedInCode("Assets")],
            swiftSettings: swiftSettings
        ),
        // Element-wise kernels of the local model (GELU), vectorised for AVX-512 / AVX2 and chosen at run time.
        // Optimised in every configuration: debug test runs embed hundreds of texts.
        .target(
            name: "CTernKernels",
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        // What the C library knows and Swift cannot import (glibc's mallinfo2), for /metrics.
        .target(name: "CTernSystem"),
        .target(
            name: "TernLocal",
            dependencies: [
                // OpenBLAS (Debian: libopenblas-dev) is loaded at run time (Sources/TernLocal/LinearAlgebra.swift
                // says why); scripts/test and scripts/serve install it.
                "TernCore",
                "TernProviders",
                "CTernKernels",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernServer",
            dependencies: [
                "TernCore",
                "TernPrompts",
                "TernStoreSQLite",
                "TernStorePostgres",
                "TernProviders",
                "TernGateway",
                "TernIngest",
                "TernData",
                "TernMonitor",
                "TernLanguage",
                "TernWeb",
                "TernEval",
                "TernLocal",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernCLI",
            dependencies: [
                "TernCore",
                "TernPrompts",
                "TernServer",
                "TernGateway",
                "TernEval",
                "TernProviders",
                "TernWeb",
                "TernData",
                "TernMonitor",
                "TernLocal",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tern",
            dependencies: [
                "TernCLI", "TernGateway", .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TernTestSupport",
            dependencies: [
                "TernCore",
                "TernStoreSQLite",
                "TernStorePostgres",
                "TernServer",
                "TernLocal",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tern-stub",
            dependencies: ["TernTestSupport", "TernCore"],
            path: "Sources/TernStub",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tern-bench",
            dependencies: [
                "TernCore", "TernStoreSQLite", "TernStorePostgres", "TernServer", "TernMonitor", "TernProviders", "TernLanguage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/TernBench",
            swiftSettings: swiftSettings
        ),
        // Benchmarks only: times the local embedding model (bench/embeddings); depends on TernLocal alone so
        // its release build stays small.
        .executableTarget(
            name: "tern-embed-bench",
            dependencies: ["TernLocal", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/TernEmbedBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernPromptsTests",
            dependencies: ["TernPrompts", "TernCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernCoreTests",
            dependencies: ["TernCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernStoreContractTests",
            dependencies: ["TernCore", "TernTestSupport", "TernStoreSQL", "TernStoreSQLite", "TernStorePostgres", "TernMonitor"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernServerTests",
            dependencies: [
                "TernServer", "TernTestSupport", "TernGateway", "TernProviders", "TernLocal", "TernStoreSQLite", "TernStorePostgres",
                "TernData", "TernMonitor", "TernIngest",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernMonitorTests",
            dependencies: ["TernMonitor", "TernCore", "TernTestSupport", "CTernKernels"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernIngestTests",
            dependencies: ["TernIngest", "TernCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernLanguageTests",
            dependencies: ["TernLanguage", "TernCore"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernDataTests",
            dependencies: ["TernData", "TernCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernGatewayTests",
            dependencies: ["TernGateway", "TernCore", "TernProviders", "TernTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernProvidersTests",
            dependencies: ["TernProviders", "TernCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernEvalTests",
            dependencies: ["TernEval", "TernCore", "TernProviders", "TernTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernLocalTests",
            dependencies: [
                "TernLocal", "TernCore", "CTernKernels", "TernTestSupport",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernWebTests",
            dependencies: ["TernWeb", "TernCore", "TernData", "TernMonitor", .product(name: "Mustache", package: "swift-mustache")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TernCLITests",
            dependencies: ["TernCLI", "TernTestSupport", "TernServer", "TernStoreSQLite", "TernEval", "TernLocal", "TernData", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
