import AsyncHTTPClient
import StazConfig
import StazDCS

/// HTTP client settings stazctl uses to talk to members' REST APIs: TLS (`ctl.cacert`,
/// `ctl.certfile`/`keyfile`, `ctl.insecure`, falling back to `restapi.cafile`), shared with the
/// daemon's peer prober through `makePeerHTTPClientConfiguration` so both behave alike.
public func makeRESTClientConfiguration(_ config: StazConfiguration?) -> HTTPClient.Configuration {
    guard let config else { return .untraced }
    return makePeerHTTPClientConfiguration(restapi: config.restapi, ctl: config.ctl)
}

/// Basic-auth credentials for unsafe calls: `ctl.authentication`, else `restapi.authentication`.
public func restBasicAuth(_ config: StazConfiguration?) -> (username: String, password: String)? {
    guard let config else { return nil }
    if let u = config.ctl.username, let p = config.ctl.password { return (u, p) }
    if let u = config.restapi.username, let p = config.restapi.password { return (u, p) }
    return nil
}
