/// DCS values staz cannot use, named by key. Each is still read the lenient way Patroni reads it
/// (an unparsable `config` is an empty configuration, a garbage `history` is absent), but
/// nothing is dropped without a word: the HA loop logs each problem (rate-limited).
public enum DCSProblems {
    public static func find(in keys: [String: DCSRawValue]) -> [String] {
        var problems: [String] = []
        func json(_ key: String) -> JSONValue?? {
            guard let raw = keys[key] else { return .none }
            return .some(try? JSONValue.parse(raw.value))
        }
        if case .some(let config) = json(DCSKey.config), config?.objectValue == nil {
            problems.append("\(DCSKey.config): not a JSON object; read as an empty dynamic configuration")
        }
        if let raw = keys[DCSKey.history], !raw.value.isEmpty {
            if let lines = (try? JSONValue.parse(raw.value))?.arrayValue {
                let bad = lines.filter { line in
                    guard let l = line.arrayValue, l.count >= 3, l[0].intValue != nil else { return true }
                    return false
                }.count
                if bad > 0 { problems.append("\(DCSKey.history): \(bad) line(s) are not [timeline, lsn, reason, ...]; ignored") }
            } else {
                problems.append("\(DCSKey.history): not a JSON array; ignored")
            }
        }
        if let raw = keys[DCSKey.failover], !raw.value.isEmpty, FailoverRequest.parse(raw.value, version: nil) == nil,
           (try? JSONValue.parse(raw.value))?.objectValue?.isEmpty != true {
            problems.append("\(DCSKey.failover): neither {\"leader\", \"member\"} nor leader:member; ignored")
        }
        if case .some(let failsafe) = json(DCSKey.failsafe), failsafe?.objectValue == nil {
            problems.append("\(DCSKey.failsafe): not a JSON object; ignored")
        }
        for (key, raw) in keys.sorted(by: { $0.key < $1.key }) where key.hasPrefix(DCSKey.members) {
            let name = String(key.dropFirst(DCSKey.members.count))
            guard !name.isEmpty else { continue }
            if !Member.parse(name: name, value: raw.value).isUsable {
                problems.append("\(key): no conn_url or api_url; not counted as a member (no slot, no candidate)")
            }
        }
        return problems
    }
}

extension Member {
    /// A member key another member can act on: it says how to reach the member (PostgreSQL or
    /// REST). A key without either (garbage, or written by something else) gets no replication
    /// slot and is never a candidate.
    public var isUsable: Bool { connURL != nil || apiURL != nil }
}
