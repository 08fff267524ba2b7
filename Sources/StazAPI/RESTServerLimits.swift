#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import StazConfig

/// How long a REST connection may sit idle or take to send a request, and how many may be open
/// at once. Patroni's REST server (Python's http.server) has no such limits; staz's keys
/// `restapi.idle_timeout`, `restapi.request_timeout` and `restapi.max_connections` set them.
public struct RESTServerLimits: Sendable, Equatable {
    /// A keep-alive connection with no request in progress is closed after this long. Longer
    /// than the 60 s for which HTTP client pools (AsyncHTTPClient, which staz members use to
    /// probe each other, and most others) keep an idle connection, so a client never reuses a
    /// connection at the moment the server closes it; HAProxy opens a new connection for each
    /// check, and `wrk` keeps its connections busy, so neither ever waits this long.
    public static let defaultIdleTimeout = Duration.seconds(90)
    /// A request must be complete this long after its first byte (the header and the body
    /// together). Health checks arrive in one packet and are answered in milliseconds; 10 s is
    /// ample for a 1 MiB body on a slow link, yet a stalled or slowloris client holds its
    /// connection for seconds, not forever.
    public static let defaultRequestTimeout = Duration.seconds(10)

    /// Connections open at once; one more is closed as soon as it is accepted. A member's REST
    /// clients are a few HAProxy checkers (a connection per check), its peers, monitoring and
    /// stazctl: tens of connections. 256 is eight times the 32 keep-alive connections of the
    /// `wrk` benchmark, and a quarter of Debian's default soft limit of 1024 open files, which
    /// leaves the rest to etcd, PostgreSQL connections and logs when the API is flooded.
    public static let defaultMaxConnections = 256

    public var idleTimeout: Duration
    public var requestTimeout: Duration
    public var maxConnections: Int

    public init(idleTimeout: Duration = defaultIdleTimeout, requestTimeout: Duration = defaultRequestTimeout,
                maxConnections: Int = defaultMaxConnections) {
        self.idleTimeout = idleTimeout; self.requestTimeout = requestTimeout; self.maxConnections = maxConnections
    }

    /// The limits a member's `restapi` section asks for (defaults for absent keys).
    public init(restapi: RestAPISection) {
        self.init()
        if let seconds = restapi.idleTimeout { idleTimeout = .milliseconds(Int64((seconds * 1000).rounded())) }
        if let seconds = restapi.requestTimeout { requestTimeout = .milliseconds(Int64((seconds * 1000).rounded())) }
        if let count = restapi.maxConnections { maxConnections = count }
    }

    /// These limits with `maxConnections` kept to half the soft limit on open files, and why
    /// it was lowered (nil when it was not). Running out of descriptors would fail the DCS and
    /// PostgreSQL connections the HA loop depends on, not just the REST API.
    public func fitted(toOpenFileLimit softLimit: Int?) -> (RESTServerLimits, String?) {
        guard let softLimit, maxConnections > softLimit / 2 else { return (self, nil) }
        var fitted = self
        fitted.maxConnections = max(1, softLimit / 2)
        return (fitted, "restapi.max_connections \(maxConnections) lowered to \(fitted.maxConnections): the open-file "
                    + "limit (ulimit -n) is \(softLimit), and etcd, PostgreSQL and the logs need descriptors too")
    }

    /// The soft limit on open files of this process; nil when unlimited or unknown.
    public static func openFileSoftLimit() -> Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        #else
        guard getrlimit(RLIMIT_NOFILE, &limit) == 0 else { return nil }
        #endif
        // RLIM_INFINITY is all ones, beyond Int.max.
        guard limit.rlim_cur <= rlim_t(Int.max) else { return nil }
        return Int(limit.rlim_cur)
    }
}
