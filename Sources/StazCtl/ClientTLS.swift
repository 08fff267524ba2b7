import AsyncHTTPClient
import StazConfig

/// HTTP client settings stazctl uses to talk to members' REST APIs: TLS (`ctl.cacert`,
/// `ctl.certfile`/`keyfile`, `ctl.insecure`, falling back to `restapi.cafile`) and the basic-auth
/// credentials for unsafe calls (`ctl.authentication`, else `restapi.authentication`).
/// (Stub: the security engineer fills in TLS; the commands engineer uses these functions.)
public func makeRESTClientConfiguration(_ config: StazConfiguration?) -> HTTPClient.Configuration {
    HTTPClient.Configuration()
}

public func restBasicAuth(_ config: StazConfiguration?) -> (username: String, password: String)? {
    guard let config else { return nil }
    if let u = config.ctl.username, let p = config.ctl.password { return (u, p) }
    if let u = config.restapi.username, let p = config.restapi.password { return (u, p) }
    return nil
}
