import Foundation
import StazCore

/// The etcd v2 keys API encoding: form-encoded writes, JSON answers with `node` trees and
/// `errorCode`s (`100` key not found, `101` compare failed, `105` key exists, `401` watch index
/// cleared).
enum EtcdV2Wire {
    static let keyNotFound: Int64 = 100
    static let compareFailed: Int64 = 101
    static let keyExists: Int64 = 105
    static let eventIndexCleared: Int64 = 401

    private static let unreserved = CharacterSet(charactersIn:
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// Percent-encodes everything but unreserved characters (form values, query values).
    static func formEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// `/v2/keys/<full key>` with each path segment encoded; trailing slash dropped.
    static func keyPath(_ fullKey: String) -> String {
        let segments = fullKey.split(separator: "/", omittingEmptySubsequences: true).map { formEncode(String($0)) }
        return "/v2/keys/" + segments.joined(separator: "/")
    }

    static func query(_ parameters: [(String, String)]) -> String {
        parameters.isEmpty ? "" : "?" + parameters.map { "\($0.0)=\(formEncode($0.1))" }.joined(separator: "&")
    }

    static func formBody(value: String?, _ parameters: [(String, String)]) -> Data {
        var pairs = parameters
        if let value { pairs.insert(("value", value), at: 0) }
        return Data(pairs.map { "\($0.0)=\(formEncode($0.1))" }.joined(separator: "&").utf8)
    }

    /// The `errorCode` of an error answer, if it is one.
    static func errorCode(_ response: EtcdHTTPResponse) -> Int64? {
        guard response.status >= 300 else { return nil }
        return (try? response.json())?["errorCode"]?.intValue
    }

    static func etcdIndex(_ response: EtcdHTTPResponse) -> Int64? {
        response.header("X-Etcd-Index").flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Flattens a recursive GET answer into keys relative to `prefix`.
    static func relativeKeys(_ node: JSONValue?, prefix: String) -> [String: DCSRawValue] {
        var keys: [String: DCSRawValue] = [:]
        func visit(_ node: JSONValue) {
            if node["dir"]?.boolValue == true {
                for child in node["nodes"]?.arrayValue ?? [] { visit(child) }
                return
            }
            guard let key = node["key"]?.stringValue, key.hasPrefix(prefix) else { return }
            keys[String(key.dropFirst(prefix.count))] = DCSRawValue(
                value: node["value"]?.stringValue ?? "",
                version: node["modifiedIndex"]?.intValue.map(String.init))
        }
        if let node { visit(node) }
        return keys
    }

    /// Raises a clear error for an answer that is neither success nor one of the expected
    /// refusals.
    static func unexpected(_ response: EtcdHTTPResponse, _ what: String) -> DCSError {
        let message = (try? response.json())?["message"]?.stringValue ?? response.bodyText
        return DCSError.protocolError("\(what) failed (HTTP \(response.status)): \(message.prefix(300))")
    }
}
