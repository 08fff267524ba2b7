import Foundation
import Logging
import StazAPI
import StazCore
import Testing

/// Keep-alive load on /primary from wrk (installed on the build machine): every request is
/// answered 200 and no connection fails. How fast is measured by the benchmark (bench B4), not
/// here: a speed floor in a unit test fails on a busy machine and proves nothing about release
/// builds. STAZ_WRK_SECONDS lengthens the run (default 2 s).
struct ThroughputTests {
    @Test func primaryUnderWrk() async throws {
        let seconds = ProcessInfo.processInfo.environment["STAZ_WRK_SECONDS"] ?? "2"
        let port = 26010
        let server = try RESTServer(listen: "127.0.0.1:\(port)", state: APIState(Fixtures.leader(leaseLeft: .seconds(3600), at: .now)),
                                    actions: NoAPIActions(), clusterProvider: { ClusterView() }, logger: Logger(label: "bench"))
        try await server.start()
        let wrk = Process()
        wrk.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        wrk.arguments = ["-t2", "-c32", "-d\(seconds)s", "--latency", "http://127.0.0.1:\(port)/primary"]
        let pipe = Pipe()
        wrk.standardOutput = pipe
        try wrk.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        wrk.waitUntilExit()
        await server.shutdown()
        print(output)

        let requestsPerSecond = output.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        #expect(wrk.terminationStatus == 0)
        #expect(!output.contains("Non-2xx"))
        #expect(!output.contains("Socket errors"))
        #expect(requestsPerSecond > 0)
    }
}
