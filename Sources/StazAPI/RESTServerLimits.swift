import NIOCore
import StazConfig

/// How long a REST connection may sit idle or take to send a request. Patroni's REST server
/// (Python's http.server) has no such limits; staz's keys `restapi.idle_timeout` and
/// `restapi.request_timeout` set them.
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

    public var idleTimeout: Duration
    public var requestTimeout: Duration

    public init(idleTimeout: Duration = defaultIdleTimeout, requestTimeout: Duration = defaultRequestTimeout) {
        self.idleTimeout = idleTimeout; self.requestTimeout = requestTimeout
    }

    /// The limits a member's `restapi` section asks for (defaults for absent keys).
    public init(restapi: RestAPISection) {
        self.init()
        if let seconds = restapi.idleTimeout { idleTimeout = .milliseconds(Int64((seconds * 1000).rounded())) }
        if let seconds = restapi.requestTimeout { requestTimeout = .milliseconds(Int64((seconds * 1000).rounded())) }
    }
}
