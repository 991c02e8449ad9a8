// swift-tools-version: 6.2
import PackageDescription

// Layers, lowest first; a target only imports the ones above it in this list:
// CLua (system library) → LuaKit (wrapper + sandbox) → Indicators (TA-Lib-compatible math)
// → Tracking (symbols, store, update bits)
// → Feeds (Binance wire format, replay, simulator) → BinanceFeed (live streams)
// → EngineSettings (the settings table, loading, the config file watcher)
// → Engine (workers, cycles, diffs)
// → EngineServer (webhooks, metrics, dashboard), Scoring (`engine score`'s figures and report)
// → Cluster (ingest, shard and merge over NATS JetStream, through CNats → NatsKit)
// → EngineCLI (the `engine` executable).
let package = Package(
  name: "engine",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "engine", targets: ["EngineCLI"]),
    .library(name: "Feeds", targets: ["Feeds"]), .library(name: "Engine", targets: ["Engine"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(
      url: "https://github.com/apple/swift-configuration", from: "1.4.0",
      traits: [.defaults, "YAML"]),
  ],
  targets: [
    .systemLibrary(
      name: "CLua",
      pkgConfig: "lua5.4",
      providers: [.apt(["liblua5.4-dev"])]
    ),
    // The C this project writes at the Lua boundary, compiled with warnings.
    .target(
      name: "CLuaHost", dependencies: ["CLua"],
      cSettings: [.enableWarning("all"), .enableWarning("extra")]),
    // Threads, clocks and stderr: what every layer shares.
    .target(name: "Support"),
    .target(name: "LuaKit", dependencies: ["CLua", "CLuaHost", "Support"]),
    // TA-Lib-compatible indicators over contiguous columns (pure Swift, no dependencies).
    .target(name: "Indicators"),
    .target(
      name: "Tracking",
      dependencies: ["Support", .product(name: "Atomics", package: "swift-atomics")]
    ),
    .target(
      name: "Feeds",
      dependencies: [
        "Support", "Tracking", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
      ]),
    // Binance's public WebSocket streams and REST backfill, as a Feed.
    .target(
      name: "BinanceFeed",
      dependencies: [
        "Support", "Feeds", "Tracking",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // Evaluating strategies on symbols: the Lua runtime, the views, `ta`, the workers.
    .target(
      name: "Evaluation",
      dependencies: [
        "CLua", "CLuaHost", "LuaKit", "Support", "Tracking", "Indicators",
        .product(name: "Atomics", package: "swift-atomics"),
      ]
    ),
    // The settings: one table of keys, resolved from the command line, the environment and
    // the YAML config file.
    .target(
      name: "EngineSettings",
      dependencies: ["Support", .product(name: "Configuration", package: "swift-configuration")]
    ),
    .target(
      name: "Engine",
      dependencies: [
        "Evaluation", "EngineSettings", "Support", "Tracking", "Feeds",
        .product(name: "Atomics", package: "swift-atomics"),
      ]
    ),
    // `engine bench`: the engine measured on a synthetic market, beside reference rows timed
    // in the same run. A target of its own, so that only the CLI links the benchmark.
    .target(
      name: "EngineBench",
      dependencies: [
        "Engine", "EngineSettings", "Evaluation", "Feeds", "Tracking", "Support",
        .product(name: "Histogram", package: "hdrhistogram-swift"),
      ]
    ),
    // Signals out and eyes on the engine: webhooks, /metrics, the live dashboard.
    .target(
      name: "EngineServer",
      dependencies: [
        "Engine", "EngineSettings", "Evaluation", "Support", "Tracking",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      resources: [.copy("Resources/dashboard.html")]),
    // NATS's C client (Debian's libnats-dev) and the thin Swift wrapper over it.
    .systemLibrary(name: "CNats", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
    .target(name: "NatsKit", dependencies: ["CNats"]),
    // The engine past one machine: ingest, shards and merger over NATS JetStream.
    .target(
      name: "Cluster",
      dependencies: ["NatsKit", "Engine", "EngineSettings", "Evaluation", "Feeds", "Tracking", "Support"]),
    // Scoring a replay's signals against the prices that followed: figures, table, JSON, HTML.
    .target(name: "Scoring", dependencies: ["Engine", "Feeds", "Tracking"]),
    .executableTarget(
      name: "EngineCLI",
      dependencies: [
        "Engine", "EngineSettings", "Evaluation", "Support", "Feeds", "Tracking", "BinanceFeed",
        "EngineServer", "EngineBench", "Scoring", "Cluster",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(name: "LuaKitTests", dependencies: ["LuaKit", "CLua", "CLuaHost", "Support"]),
    .testTarget(
      name: "IndicatorsTests", dependencies: ["Indicators"], resources: [.copy("Fixtures")]),
    .testTarget(
      name: "TrackingTests",
      dependencies: ["Tracking", "Support", .product(name: "Atomics", package: "swift-atomics")]),
    .testTarget(name: "FeedsTests", dependencies: ["Feeds", "Tracking", "Support"]),
    .testTarget(
      name: "BinanceFeedTests",
      dependencies: [
        "BinanceFeed", "Feeds", "Tracking", "Engine", "EngineSettings", "Evaluation", "Support",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOWebSocket", package: "swift-nio"),
      ]
    ),
    .testTarget(
      name: "EngineTests",
      dependencies: [
        "Engine", "EngineSettings", "Evaluation", "Feeds", "Tracking", "LuaKit", "CLua", "CLuaHost",
        "Support",
        // The bench's SplitMix64 generates the replay fixtures' test data.
        "EngineBench",
      ]),
    // The settings, and the documentation (README, config/engine.yaml, `engine --help`) held to
    // the settings table.
    .testTarget(name: "EngineSettingsTests", dependencies: ["EngineSettings", "EngineCLI"]),
    .testTarget(name: "EngineBenchTests", dependencies: ["EngineBench"]),
    .testTarget(
      name: "EngineServerTests",
      dependencies: [
        "EngineServer", "Engine", "EngineSettings", "Evaluation", "Feeds", "Tracking", "Support",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .testTarget(
      name: "ScoringTests",
      dependencies: ["Scoring", "Engine", "EngineSettings", "Evaluation", "Feeds", "Tracking"]),
    .testTarget(
      name: "ClusterTests",
      dependencies: ["Cluster", "NatsKit", "Engine", "Evaluation", "Feeds", "Tracking", "EngineCLI"]),
    // Runs the built `engine` executable as a user would (exit codes, stderr, signals).
    .testTarget(name: "CLITests", dependencies: ["EngineCLI", "Feeds"]),
  ],
  swiftLanguageModes: [.v6]
)
