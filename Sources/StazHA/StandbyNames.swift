import StazCore
import StazConfig

/// Which flavour of synchronous replication the dynamic configuration asks for.
public enum SyncMode: Sendable, Equatable {
    case off
    /// `synchronous_mode: on`: `N (a,b)`, every listed standby must confirm.
    case priority
    /// `synchronous_mode: quorum`: `ANY k (a,b,c)`, any k standbys confirm.
    case quorum

    public init(_ settings: DynamicSettings) {
        switch settings.synchronousMode {
        case "quorum": self = .quorum
        case "on": self = .priority
        default: self = .off
        }
    }
}

/// Patroni's reserved name that keeps commits waiting in strict mode when no standby is usable.
public let strictSyncPlaceholder = "__patroni_strict_sync_replica_placeholder__"

/// A value of `synchronous_standby_names` that staz manages (rendered as Patroni's `SyncHandler` does).
public struct StandbyNames: Sendable, Equatable, CustomStringConvertible {
    /// How many of `names` must confirm a commit.
    public var count: Int
    public var names: [String]
    /// `ANY k (...)` instead of the priority form.
    public var isQuorum: Bool

    public init(count: Int, names: [String], isQuorum: Bool) {
        self.count = count
        self.names = names.sorted()
        self.isQuorum = isQuorum
    }

    /// The parameter text: one name alone, `N (a,b)` for several, `ANY N (a,b)` in quorum mode.
    public var text: String {
        let quoted = names.map(Self.quote)
        if isQuorum { return "ANY \(count) (\(quoted.joined(separator: ",")))" }
        if quoted.count == 1 { return quoted[0] }
        return "\(count) (\(quoted.joined(separator: ",")))"
    }

    public var description: String { text }

    /// Bare identifier when PostgreSQL would read it back unchanged, else double-quoted.
    static func quote(_ name: String) -> String {
        if name == "*" { return name }
        let lower = name.lowercased()
        let first = name.unicodeScalars.first
        let isIdentifier = first.map { $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) } ?? false
            && name.unicodeScalars.allSatisfy { $0 == "_" || $0 == "$" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        if isIdentifier && lower != "first" && lower != "any" { return name }
        return "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// What a new or restarted primary runs with until the leader step has looked at the
    /// standbys: the standbys recorded in `/sync` (they hold every acknowledged commit), or in
    /// strict mode the placeholder (commits wait), or nothing.
    public static func initial(mode: SyncMode, strict: Bool, sync: SyncState) -> StandbyNames? {
        switch mode {
        case .off: return nil
        case .priority:
            if !sync.syncStandbys.isEmpty { return StandbyNames(count: sync.syncStandbys.count, names: sync.syncStandbys, isQuorum: false) }
            return strict ? StandbyNames(count: 1, names: [strictSyncPlaceholder], isQuorum: false) : nil
        case .quorum:
            if !sync.syncStandbys.isEmpty {
                return StandbyNames(count: max(1, sync.syncStandbys.count - sync.quorum), names: sync.syncStandbys, isQuorum: true)
            }
            return strict ? StandbyNames(count: 1, names: [strictSyncPlaceholder], isQuorum: true) : nil
        }
    }
}

/// One row of `pg_stat_replication` as the sync planner needs it.
public struct WalSender: Sendable, Equatable {
    public var applicationName: String
    /// `streaming`, `catchup`, `backup`, ...
    public var state: String
    /// `async`, `potential`, `sync`, `quorum`.
    public var syncState: String
    /// The position that counts for `synchronous_commit`: replay for `remote_apply`, write for
    /// `remote_write`, flush otherwise (`WalSender.position(for:)`).
    public var lsn: LSN?

    public init(applicationName: String, state: String, syncState: String, lsn: LSN?) {
        self.applicationName = applicationName; self.state = state; self.syncState = syncState; self.lsn = lsn
    }

    /// Which of a standby's positions a commit waits for under `synchronousCommit` (Patroni's
    /// `_ReplicaList` sort column).
    public enum Position: Sendable, Equatable { case write, flush, replay }
    public static func position(for synchronousCommit: String?) -> Position {
        switch synchronousCommit {
        case "remote_apply": return .replay
        case "remote_write": return .write
        default: return .flush
        }
    }
}
