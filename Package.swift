// swift-tools-version: 6.1
import PackageDescription

// One target per room of the data flow (see README "Architecture"). The pure rooms —
// TidemarkProtocol, EquityEngine, RiskCore — import no I/O library: time and input come in as values.
let package = Package(
    name: "Tidemark",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tidemark", targets: ["tidemark"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Already a dependency of async-http-client; named for its ByteBuffer/TimeAmount and the tests' receiver.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // A command plugin only (`swift package generate-documentation`): adds no code to the product.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Already a dependency of Hummingbird; named for NIOHTTPTypes (the agent's HTTP connection limits).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        // Already a dependency of Hummingbird and AsyncHTTPClient; named for HTTPS (HummingbirdTLS, certificate loading).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.2"),
        // The dashboard's store (PostgreSQL: pooled connections, the extended protocol).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already a dependency of Hummingbird; named to read an agent certificate's subject.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        // Debian's libzmq 4.3 (libzmq3-dev), CURVE included.
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // Operating-system headers Swift's Glibc module leaves out (epoll) or cannot call (prctl is variadic).
        .systemLibrary(name: "CSystemShims"),
        // A small, thread-confined Swift layer over libzmq.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ", "CSystemShims", "TidemarkProtocol"]),
        // Pure: the message vocabulary, exact decimals, the wire codec and the recording (JSON Lines) codec.
        .target(name: "TidemarkProtocol"),
        // I/O: ZeroMQ ROUTER socket, per-terminal session state machines, sequence checking, resync.
        .target(
            name: "Bridge",
            dependencies: [
                "TidemarkProtocol", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Pure: folds bridge messages into account state; emits equity/balance observations per tick.
        .target(name: "EquityEngine", dependencies: ["TidemarkProtocol"]),
        // Pure: trackers, challenges and competitions over observations and deals.
        .target(name: "RiskCore", dependencies: ["TidemarkProtocol", "EquityEngine"]),
        // Pure: the compact binary Codable coder of the checkpoints (not a wire format).
        .target(name: "CompactBinaryCoding", dependencies: ["TidemarkProtocol"]),
        // Pure: the agent's deterministic fold (bridge deliveries and declarations through the equity
        // engine and the risk core, in one order), its checkpoint parts, and the offline replay over it.
        .target(
            name: "AgentFold", dependencies: ["TidemarkProtocol", "CompactBinaryCoding", "EquityEngine", "RiskCore"]),
        // I/O: the durable store (SQLite through GRDB, WAL): events, records, checkpoints, tokens, outbox.
        .target(
            name: "Store",
            dependencies: [
                "TidemarkProtocol", "RiskCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // I/O: webhook delivery from the store's outbox (signed HTTP(S) POSTs, retried with backoff).
        .target(
            name: "Webhooks",
            dependencies: [
                "Store", "TidemarkProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // I/O: plays a recording into an agent exactly as an Expert Advisor would.
        .target(
            name: "Simulator",
            dependencies: [
                "TidemarkProtocol", "ZeroMQ", "CSystemShims",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // I/O: the MetaApi-compatible REST API, long poll and Server-Sent Events, as a router the agent mounts.
        .target(
            name: "API",
            dependencies: [
                "TidemarkProtocol", "EquityEngine", "RiskCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // The OpenAPI document (protocol/openapi.json links to it), served at /openapi.json from Bundle.module.
            resources: [.copy("openapi.json")]
        ),
        // I/O: the API's read model, tokens and webhooks over the agent's SQLite store. Apart from API so that
        // API links no store (the dashboard implements the same protocols over PostgreSQL) and apart from
        // Agent so that the API tests run these adapters against a real store without the whole agent.
        .target(
            name: "StoreBackedAPI",
            dependencies: ["API", "Store", "TidemarkProtocol", "EquityEngine", "RiskCore"]
        ),
        // I/O: the agent daemon — bridge → equity engine → risk core → store (one writer), then ACKs,
        // notifications and commands; HTTP (health, metrics, the API); services with graceful shutdown.
        .target(
            name: "Agent",
            dependencies: [
                "TidemarkProtocol", "AgentFold", "Bridge", "EquityEngine", "RiskCore", "Store", "ZeroMQ", "API",
                "StoreBackedAPI", "Webhooks", "Feed", "FeedProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        // Pure: the feed's wire format between an agent and the dashboard (JSON batches, acknowledgements).
        .target(name: "FeedProtocol"),
        // I/O: the agent's side of the feed: drains the store's feed outbox to the dashboard over mutual TLS,
        // with coalesced live account state beside it.
        .target(
            name: "Feed",
            dependencies: [
                "FeedProtocol", "Store", "TidemarkProtocol", "Webhooks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // I/O: `tidemark dashboard`: the feed's receiving end (mutual TLS), PostgreSQL storage, the agents'
        // REST API (the API target's routes over a PostgreSQL read model, read-only), /agents.
        .target(
            name: "Dashboard",
            dependencies: [
                "FeedProtocol", "API", "RiskCore", "EquityEngine", "TidemarkProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.process("UI/Assets")]
        ),
        // `tidemark bench …`: the benchmarks and the raw libzmq probe, apart from the product's code paths.
        .target(
            name: "TidemarkBench",
            dependencies: [
                "TidemarkProtocol", "ZeroMQ", "Bridge", "EquityEngine", "RiskCore", "Simulator", "Agent", "AgentFold",
                "FeedProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "tidemark",
            dependencies: [
                "TidemarkProtocol", "ZeroMQ", "Bridge", "EquityEngine", "RiskCore", "Simulator", "Agent", "AgentFold",
                "API", "Store", "TidemarkBench", "Dashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers every test target shares: temporary directories and `eventually` (a wait with a deadline).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // Checks JSON against protocol/openapi.json: REST answers in the API tests, webhook bodies in the
        // integration tests.
        .target(name: "OpenAPICheck", dependencies: ["API"], path: "Tests/OpenAPICheck"),
        // Also tests the Simulator's pure RecordingBuilder (recordings are the protocol's other form).
        .testTarget(name: "TidemarkProtocolTests", dependencies: ["TidemarkProtocol", "Simulator"]),
        .testTarget(name: "CompactBinaryCodingTests", dependencies: ["CompactBinaryCoding", "TidemarkProtocol"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "TestSupport"]),
        .testTarget(
            name: "BridgeTests",
            dependencies: [
                "Bridge", "TidemarkProtocol", "ZeroMQ", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "EquityEngineTests", dependencies: ["EquityEngine", "TidemarkProtocol"]),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "TidemarkProtocol", "ZeroMQ", "TestSupport"]),
        .testTarget(
            name: "RiskCoreTests",
            dependencies: ["RiskCore", "CompactBinaryCoding", "EquityEngine", "TidemarkProtocol"]),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "StoreBackedAPI", "RiskCore", "EquityEngine", "TidemarkProtocol", "Store", "TestSupport",
                "OpenAPICheck",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "Store", "RiskCore", "EquityEngine", "TidemarkProtocol", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "WebhooksTests",
            dependencies: [
                "Webhooks", "Store", "TidemarkProtocol", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        // Runs the real `tidemark` binary against real sockets on loopback.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TidemarkProtocol", "ZeroMQ", "RiskCore", "Store", "Webhooks", "Agent", "AgentFold", "TestSupport",
                "API", "OpenAPICheck",
                "FeedProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "FeedTests", dependencies: ["FeedProtocol"]),
        .testTarget(name: "DashboardUITests", dependencies: ["Dashboard", "FeedProtocol"]),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "API", "AgentFold", "Bridge", "CompactBinaryCoding", "EquityEngine", "RiskCore", "Store",
                "TestSupport",
                "TidemarkProtocol",
            ]
        ),
        .testTarget(name: "TidemarkBenchTests", dependencies: ["TidemarkBench"]),
    ],
    swiftLanguageModes: [.v6]
)
