/// The URL of `endpoint` on the REST API of a member: scheme and host:port of its `api_url`
/// with the path replaced (patronictl's `Member.get_endpoint_url`); nil endpoint = `api_url`.
/// Used by stazctl and by members calling each other (failsafe, peer probes).
public func memberEndpointURL(apiURL: String, endpoint: String?) -> String {
    guard let endpoint else { return apiURL }
    var rest = Substring(apiURL)
    var scheme = ""
    if let range = rest.range(of: "://") {
        scheme = String(rest[..<range.upperBound])
        rest = rest[range.upperBound...]
    }
    let netloc = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    return scheme + netloc + "/" + endpoint
}
