// swift-tools-version:6.0
import PackageDescription

// Module map (dependencies point inward, towards StazCore):
//   StazConcurrency  cancellation-safe waits (one-shot results, signals, deadlines)
//   StazCore      pure value types + Patroni-compatible DCS JSON codecs (no I/O)
//   StazConfig    YAML / environment / dynamic configuration, validation
//   StazHA        the pure HA decision function (DCS view + local state + config + clock -> actions)
//   StazDCS       DCS protocol implementations: etcd v3 (JSON gateway) and etcd v2
//   StazPostgres  PostgreSQL control: processes, config files, queries, slots
//   StazWatchdog  the Linux watchdog device (kernel or Patroni's test pipe)
//   StazMesh      the three-zone Spock/pglogical mesh: pure planner, SQL observe/apply, reconciler
//   StazAPI       REST API server (Patroni endpoints) over SwiftNIO
//   StazDaemon    the HA loop: executor, lease keeper, service wiring
//   StazCtl       stazctl commands (library, so tests can call them)
//   staz, stazctl thin executables

// Every module builds in the Swift 6 language mode (complete data-race checking). Only the
// REST server's tests stay in 5: they drive a blocking socket client from a plain Thread.
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "staz",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "staz", targets: ["staz"]),
        .executable(name: "stazctl", targets: ["stazctl"]),
        .executable(name: "staz-fence-guard", targets: ["staz-fence-guard"]),
        .executable(name: "staz-probe", targets: ["staz-probe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        .target(name: "StazConcurrency", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Files and processes through plain system calls (no Foundation): /proc, state files.
        .target(name: "StazSystem"),
        // The fencing guard and its protocol; links no Foundation (its own small executable).
        .target(name: "StazFence", dependencies: ["StazSystem"]),
        .target(name: "StazCore", dependencies: ["StazSystem"]),
        .target(name: "StazConfig", dependencies: [
            "StazCore", .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "StazHA", dependencies: ["StazCore", "StazConfig"]),
        .target(name: "StazDCS", dependencies: [
            "StazConcurrency",
            "StazCore", "StazConfig",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .target(name: "StazPostgres", dependencies: [
            "StazConcurrency", "StazCore", "StazConfig", "StazSystem", "StazFence",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The Linux watchdog device kept alive while this member leads.
        .target(name: "StazWatchdog", dependencies: [
            "StazCore", "StazConfig",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The cross-zone Spock/pglogical mesh: pure planner plus SQL observe/apply edges.
        .target(name: "StazMesh", dependencies: [
            "StazCore", "StazConfig", "StazPostgres",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "StazAPI", dependencies: [
            "StazCore", "StazConfig", "StazSystem",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        .target(name: "StazDaemon", dependencies: [
            "StazConcurrency",
            "StazCore", "StazConfig", "StazHA", "StazDCS", "StazPostgres", "StazAPI", "StazMesh", "StazWatchdog", "StazFence", "StazSystem",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        .target(name: "StazCtl", dependencies: [
            "StazCore", "StazConfig", "StazDCS", "StazPostgres", "StazMesh",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .executableTarget(name: "staz", dependencies: [
            "StazDaemon", "StazConfig", "StazDCS", "StazAPI", "StazConcurrency", "StazFence",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "stazctl", dependencies: ["StazCtl"]),
        // The fencing guard staz starts while it leads (StazFence/FenceGuard.swift).
        .executableTarget(name: "staz-fence-guard", dependencies: ["StazFence"]),
        // Benchmark write probe (bench/): writes every 10 ms through HAProxy and logs each ack.
        .executableTarget(name: "staz-probe", dependencies: [
            "StazConcurrency", "StazCore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "StazConcurrencyTests", dependencies: [
            "StazConcurrency", .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "StazCoreTests", dependencies: ["StazCore", "StazSystem"]),
        .testTarget(name: "StazConfigTests", dependencies: ["StazConfig"]),
        .testTarget(name: "StazHATests", dependencies: ["StazHA"]),
        .testTarget(name: "StazDCSTests", dependencies: ["StazDCS"]),
        .testTarget(name: "StazPostgresTests", dependencies: ["StazPostgres", "StazFence", "StazSystem"]),
        .testTarget(name: "StazAPITests", dependencies: ["StazAPI"], swiftSettings: v5),
        .testTarget(name: "StazCtlTests", dependencies: ["StazCtl", "StazPostgres"]),
        .testTarget(name: "StazWatchdogTests", dependencies: ["StazWatchdog"]),
        .testTarget(name: "StazMeshTests", dependencies: ["StazMesh"]),
        .testTarget(name: "StazDaemonTests", dependencies: ["StazDaemon", "StazSystem"]),
        .testTarget(name: "StazSimulationTests", dependencies: ["StazHA", "StazCore", "StazConfig", "StazDCS"]),
    ]
)
