import Foundation
import StazConfig

/// A `-d/--dcs-url` value: `[scheme://]host[:port][/namespace]`, patronictl's `parse_dcs`.
/// Without a scheme the port decides; 2379 (and anything unknown) means `etcd` (the v2 API),
/// exactly like patronictl, so pass `etcd3://` for the v3 API.
public struct DCSURL: Equatable, Sendable {
    public var api: EtcdAPIVersion
    public var host: String
    public var port: Int
    public var namespace: String?

    public init(parsing text: String) throws {
        var rest = text
        var scheme = ""
        if let range = rest.range(of: "://") {
            scheme = String(rest[..<range.lowerBound])
            rest = String(rest[range.upperBound...])
        } else if rest.hasPrefix("//") {
            rest = String(rest.dropFirst(2))
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...]).trimmingCharacters(in: .whitespaces)
            rest = String(rest[..<slash])
        }
        var hostPart = rest
        var port: Int?
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            hostPart = String(rest[..<colon])
            let portText = rest[rest.index(after: colon)...]
            guard let p = Int(portText), (0...65535).contains(p) else {
                throw CtlError("Invalid port in DCS URL '\(text)'")
            }
            port = p
        }
        switch scheme {
        case "", "etcd": api = .v2
        case "etcd3": api = .v3
        case "consul", "zookeeper", "exhibitor":
            throw CtlError("DCS scheme '\(scheme)' is not supported by staz (only etcd and etcd3)")
        default: throw CtlError("Unknown dcs scheme: \(scheme)")
        }
        host = hostPart.isEmpty ? "localhost" : hostPart
        self.port = port ?? 2379
        namespace = path.isEmpty || path == "/" ? nil : path
    }

    public var endpoint: String { "http://\(host):\(port)" }
}

/// A user-facing stazctl failure: printed as `Error: <message>`, exit code 1.
public struct CtlError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
