// swift-tools-version:6.0
// The resident-memory floor for a staz-shaped daemon: an HTTP/1.1 server on SwiftNIO and
// nothing else (no Foundation, no PostgreSQL or etcd client, no YAML, no TLS). bench/memory-floor.sh
// builds it with the Swift runtime shared and linked statically and reports what it holds.
import PackageDescription

let package = Package(
    name: "memory-floor",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")],
    targets: [
        .executableTarget(name: "memory-floor", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ]
)
