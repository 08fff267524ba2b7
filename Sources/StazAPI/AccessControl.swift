import Foundation
import StazConfig
import StazCore

/// `restapi.verify_client`: whether TLS clients must (required), may (optional) or need not
/// (none) present a certificate signed by `cafile`.
public enum ClientCertificateMode: String, Sendable, Equatable {
    case none, optional, required
}

/// TLS settings of the REST API (`restapi.certfile` switches the API to https).
public struct RESTTLSSettings: Sendable, Equatable {
    public var certfile: String
    /// Without a keyfile the private key is read from `certfile`, as Python's `load_cert_chain`.
    public var keyfile: String?
    public var keyfilePassword: String?
    public var cafile: String?
    public var verifyClient: ClientCertificateMode

    public init(certfile: String, keyfile: String? = nil, keyfilePassword: String? = nil, cafile: String? = nil,
                verifyClient: ClientCertificateMode = .none) {
        self.certfile = certfile; self.keyfile = keyfile; self.keyfilePassword = keyfilePassword
        self.cafile = cafile; self.verifyClient = verifyClient
    }
}

/// Access control for unsafe REST calls (POST/PUT/PATCH/DELETE), Patroni's `check_access`:
/// (1) source address in `allowlist` or, with `allowlist_include_members`, a member's api_url
/// host → else 403 "Access is denied"; (2) a client certificate when `verify_client` is
/// optional/required → else 403 "client certificate required"; (3) HTTP basic auth when
/// `restapi.authentication` is set → else 401. GET/HEAD/OPTIONS are never checked.
public struct RESTSecurity: Sendable {
    /// Resolved `restapi.allowlist` (empty = no address restriction of its own).
    public var allowlist: [IPNetwork] = []
    public var allowlistIncludeMembers: Bool = false
    /// `base64("username:password")`; the header's token is compared with it verbatim in
    /// constant time, as Patroni does. Deliberately not `CustomStringConvertible`-exposed.
    public var basicAuthKey: String? = nil
    public var tls: RESTTLSSettings? = nil
    /// Allowlist entries that were neither an address, a network nor a resolvable host name
    /// (Patroni logs and ignores them; RESTServer logs these at start).
    public var problems: [String] = []

    /// No allowlist, no TLS, no authentication.
    public static let none = RESTSecurity()

    public init() {}

    /// From the `restapi` section. Host names in the allowlist are resolved here, once, as
    /// Patroni does when it loads its configuration.
    public init(restapi: RestAPISection, resolve: (String) -> [IPAddress] = HostResolver.addresses(of:)) {
        for entry in restapi.allowlist {
            if entry.contains("/") {
                do { allowlist.append(try IPNetwork(parsing: entry)) } catch {
                    problems.append("Invalid value \"\(entry)\" in the allowlist: \(error)")
                }
            } else {
                let addresses = resolve(entry)
                if addresses.isEmpty { problems.append("Failed to resolve \(entry)") }
                allowlist += addresses.map { IPNetwork(address: $0) }
            }
        }
        allowlistIncludeMembers = restapi.allowlistIncludeMembers
        if let username = restapi.username, let password = restapi.password {
            basicAuthKey = Data("\(username):\(password)".utf8).base64EncodedString()
        }
        if let certfile = restapi.certfile, !certfile.isEmpty {
            tls = RESTTLSSettings(certfile: certfile, keyfile: restapi.keyfile, cafile: restapi.cafile,
                                  verifyClient: ClientCertificateMode(rawValue: restapi.verifyClient ?? "none") ?? .none)
        }
    }

    public var scheme: String { tls == nil ? "http" : "https" }
}

/// What the server knows about one unsafe request when it checks access.
public struct AccessRequest: Sendable {
    public var clientAddress: IPAddress?
    /// The TLS layer verified a client certificate on this connection.
    public var hasClientCertificate: Bool
    /// The `Authorization` header, if any.
    public var authorization: String?

    public init(clientAddress: IPAddress?, hasClientCertificate: Bool = false, authorization: String? = nil) {
        self.clientAddress = clientAddress; self.hasClientCertificate = hasClientCertificate
        self.authorization = authorization
    }
}

/// Which checks a route gets: `POST /failsafe` skips the members allowlist (failsafe exists for
/// when the DCS, where members come from, is gone); `POST /mpp` is not checked at all.
public enum AccessCheckScope: Sendable, Equatable {
    case full, skipMembers, unchecked

    public static func forRoute(method: String, firstSegment: String) -> AccessCheckScope {
        switch (method, firstSegment) {
        case ("POST", "mpp"): return .unchecked
        case ("POST", "failsafe"): return .skipMembers
        default: return .full
        }
    }
}

extension RESTSecurity {
    /// Whether answering needs the members' addresses (which may need DNS, so the caller
    /// resolves them off the event loop only when this is true).
    public func needsMemberAddresses(_ scope: AccessCheckScope) -> Bool {
        scope == .full && allowlistIncludeMembers
    }

    /// nil when the request may proceed, else the refusal to send (Patroni's order of checks).
    public func denial(for request: AccessRequest, memberAddresses: [IPAddress] = [],
                       scope: AccessCheckScope = .full) -> APIResponse? {
        if scope == .unchecked { return nil }
        let checkMembers = needsMemberAddresses(scope)
        if !allowlist.isEmpty || checkMembers {
            let allowed = request.clientAddress.map { client in
                allowlist.contains { $0.contains(client) } || (checkMembers && memberAddresses.contains(client))
            } ?? false
            if !allowed { return .text(403, "Access is denied") }
        }
        if let tls, tls.verifyClient != .none, !request.hasClientCertificate {
            return .text(403, "client certificate required")
        }
        if let basicAuthKey {
            guard let header = request.authorization else {
                return Self.unauthorized("no auth header received")
            }
            guard header.hasPrefix("Basic "),
                  Self.constantTimeEqual(Array(header.utf8.dropFirst(6)), Array(basicAuthKey.utf8)) else {
                return Self.unauthorized("not authenticated")
            }
        }
        return nil
    }

    static func unauthorized(_ reason: String) -> APIResponse {
        var response = APIResponse.text(401, reason)
        response.extraHeaders.append(("WWW-Authenticate", "Basic realm=\"Patroni\""))
        return response
    }

    /// Compares without an early exit, so the time taken does not reveal how many leading
    /// bytes of a guessed password were right (Python's `hmac.compare_digest`).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    /// Addresses of every member's api_url host (Patroni's `__members_ips`). May block on DNS
    /// for host names: call it off the event loop.
    public static func memberAddresses(_ view: ClusterView?,
                                       resolve: (String) -> [IPAddress] = HostResolver.addresses(of:)) -> [IPAddress] {
        guard let view else { return [] }
        var addresses: [IPAddress] = []
        for member in view.members {
            guard let url = member.apiURL, let host = HostResolver.host(ofURL: url) else { continue }
            addresses += resolve(host)
        }
        return addresses
    }
}
