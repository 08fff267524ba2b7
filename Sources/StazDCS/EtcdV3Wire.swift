import Foundation
import StazCore

/// The etcd v3 JSON gateway encoding: keys and values base64, 64-bit numbers as decimal
/// strings, enums by name. Builders for the request bodies Patroni sends and readers for the
/// answers. Keys here are full etcd keys (cluster prefix included).
enum EtcdV3Wire {
    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// Decodes a base64 field; etcd omits empty values, so a missing field is "".
    static func decode(_ field: JSONValue?) -> String {
        guard let b64 = field?.stringValue, let data = Data(base64Encoded: b64) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `range_end` covering every key that starts with `prefix` (last byte + 1), base64.
    static func rangeEnd(forPrefix prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF { bytes[bytes.count - 1] = last + 1; return Data(bytes).base64EncodedString() }
            bytes.removeLast()
        }
        return base64("\0")   // everything
    }

    // MARK: request bodies

    static func range(prefix: String) -> JSONValue {
        ["key": .string(base64(prefix)), "range_end": .string(rangeEnd(forPrefix: prefix))]
    }

    static func putBody(_ key: String, _ value: String, lease: String?) -> JSONValue {
        var o = JSONObject([("key", .string(base64(key))), ("value", .string(base64(value)))])
        if let lease, lease != "0" { o["lease"] = .string(lease) }
        return .object(o)
    }

    static func deleteBody(_ key: String, rangeEnd: String? = nil) -> JSONValue {
        var o = JSONObject([("key", .string(base64(key)))])
        if let rangeEnd { o["range_end"] = .string(rangeEnd) }
        return .object(o)
    }

    /// Compare: the key does not exist (create_revision 0).
    static func compareAbsent(_ key: String) -> JSONValue {
        ["key": .string(base64(key)), "target": "CREATE", "create_revision": "0"]
    }

    static func compareValue(_ key: String, equals value: String) -> JSONValue {
        ["key": .string(base64(key)), "target": "VALUE", "value": .string(base64(value))]
    }

    static func compareModRevision(_ key: String, equals revision: String) -> JSONValue {
        ["key": .string(base64(key)), "target": "MOD", "mod_revision": .string(revision)]
    }

    static func opPut(_ key: String, _ value: String, lease: String?) -> JSONValue {
        ["request_put": putBody(key, value, lease: lease)]
    }

    static func opDelete(_ key: String) -> JSONValue { ["request_delete_range": deleteBody(key)] }

    static func opRange(_ key: String) -> JSONValue { ["request_range": ["key": .string(base64(key))]] }

    static func txn(compare: [JSONValue], success: [JSONValue], failure: [JSONValue] = []) -> JSONValue {
        var o = JSONObject([("compare", .array(compare)), ("success", .array(success))])
        if !failure.isEmpty { o["failure"] = .array(failure) }
        return .object(o)
    }

    static func opTxn(_ txn: JSONValue) -> JSONValue { ["request_txn": txn] }

    // MARK: answers

    struct KeyValue: Sendable, Equatable {
        var key: String
        var value: String
        var modRevision: Int64
        var lease: String?
    }

    static func keyValue(_ json: JSONValue) -> KeyValue? {
        guard json["key"] != nil else { return nil }
        let lease = json["lease"]?.stringValue ?? json["lease"]?.intValue.map(String.init)
        return KeyValue(key: decode(json["key"]), value: decode(json["value"]),
                        modRevision: json["mod_revision"]?.intValue ?? 0,
                        lease: lease == "0" ? nil : lease)
    }

    /// The key a txn's first `opRange` answered with, if it exists.
    static func firstRangedKey(_ txnAnswer: JSONValue) -> KeyValue? {
        txnAnswer["responses"]?.arrayValue?.first?["response_range"]?["kvs"]?.arrayValue?.first.flatMap(keyValue)
    }

    static func headerRevision(_ json: JSONValue) -> Int64? { json["header"]?["revision"]?.intValue }

    /// Whether a txn answer took its success branch (`succeeded` is omitted when false).
    static func succeeded(_ json: JSONValue) -> Bool { json["succeeded"]?.boolValue ?? false }

    /// Interprets a gateway answer: 200 gives the JSON body; a missing lease is reported as
    /// `EtcdV3LeaseNotFound` (callers re-grant); anything else is a protocol error.
    static func check(_ response: EtcdHTTPResponse, _ what: String) throws -> JSONValue {
        if response.status == 200 { return try response.json() }
        let message = (try? response.json())?["error"]?.stringValue ?? response.bodyText
        if message.contains("lease not found") { throw EtcdV3LeaseNotFound() }
        throw DCSError.protocolError("\(what) failed (HTTP \(response.status)): \(message.prefix(300))")
    }
}

/// etcd refused a write because the lease it referenced no longer exists.
struct EtcdV3LeaseNotFound: Error {}
