import StazCore

/// The watch cache's copy of the cluster's keys with the newest revision known for each,
/// deletions included, so that an older watch event or range read never overwrites newer
/// knowledge. A value type, fed by the cache actor with range reads, watch events and the
/// results of our own writes.
struct EtcdV3KeyTable: Sendable {
    /// Keys relative to the cluster prefix.
    private(set) var entries: [String: DCSRawValue] = [:]
    private var keyRevisions: [String: Int64] = [:]

    /// Records that `key` holds `value` (nil: deleted) as of `revision`. Returns the value it
    /// replaced, or nil when the change was not newer than what the table knows.
    mutating func update(_ key: String, _ value: DCSRawValue?, revision: Int64) -> Replaced? {
        if let known = keyRevisions[key], known >= revision { return nil }
        keyRevisions[key] = revision
        let old = entries[key]
        if let value { entries[key] = value } else { entries.removeValue(forKey: key) }
        return Replaced(old: old)
    }

    struct Replaced: Sendable { let old: DCSRawValue? }

    /// Takes a range read served at `revision` as the new content. A key we changed after that
    /// revision keeps our change: the read was served before our write (it was answered late,
    /// say after etcd was frozen), and the watch that follows the read starts after `revision`,
    /// so it brings the same change again or a newer one. Losing it instead would show a
    /// leader key we just took as gone (or as the expired one before it) for a moment.
    /// Returns the entries before the read.
    mutating func replaceAll(_ read: [String: (DCSRawValue, Int64)], revision: Int64) -> [String: DCSRawValue] {
        let old = entries
        let newer = keyRevisions.filter { $0.value > revision }
        entries = [:]
        keyRevisions = [:]
        for (key, (value, modRevision)) in read {
            entries[key] = value
            keyRevisions[key] = modRevision
        }
        // Keys that vanished were deleted at or before `revision`.
        for key in old.keys where entries[key] == nil { keyRevisions[key] = revision }
        for (key, known) in newer {
            keyRevisions[key] = known
            entries[key] = old[key]
        }
        return old
    }
}
