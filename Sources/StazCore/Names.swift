import Foundation

/// Physical replication slot name for a member, exactly as Patroni's
/// `slot_name_from_member_name`: lower-case, `-` and `.` become `_`, any other character
/// outside `[a-z0-9_]` becomes `u` + its 4-digit code point, truncated to 63 characters.
public func slotName(forMember name: String) -> String {
    var out = ""
    for ch in name.lowercased().unicodeScalars {
        switch ch {
        case "a"..."z", "0"..."9", "_": out.unicodeScalars.append(ch)
        case "-", ".": out += "_"
        default: out += "u" + String(format04(ch.value))
        }
    }
    return String(out.prefix(63))
}

private func format04(_ v: UInt32) -> String {
    let s = String(v)
    return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
}

/// DCS key names relative to the cluster prefix `/<namespace>/<scope>/`.
public enum DCSKey {
    public static let leader = "leader"
    public static let members = "members/"
    public static let initialize = "initialize"
    public static let config = "config"
    public static let history = "history"
    public static let status = "status"
    public static let failover = "failover"
    public static let sync = "sync"
    public static let failsafe = "failsafe"
    /// staz extension: the mesh integrity ledger of this zone (Patroni ignores unknown keys).
    public static let mesh = "mesh"
    public static let optimeLeader = "optime/leader"

    /// `/<namespace>/<scope>/` with duplicate slashes collapsed, always ending in `/`.
    public static func clusterPrefix(namespace: String, scope: String) -> String {
        var path = "/" + namespace + "/" + scope + "/"
        while path.contains("//") { path = path.replacingOccurrences(of: "//", with: "/") }
        return path
    }
}

/// The version string staz writes into member keys and reports over REST. Patroni tooling
/// parses it as a Patroni version, so it follows Patroni's numbering of the behaviour staz
/// implements.
public enum StazVersion {
    public static let patroniCompatible = "4.1.5"
    public static let staz = "0.1.0"
}


/// The held copy staz keeps beside a pglogical subscription slot on its provider (StazMesh
/// `HeldSlots`): `staz_held_` and 16 hex digits of the slot name's FNV-1a hash, so a slot name
/// of any length maps to one valid, recognisable name.
public enum HeldSlotName {
    public static let prefix = "staz_held_"

    public static func forSlot(_ slot: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in slot.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return prefix + String(repeating: "0", count: 16 - hex.count) + hex
    }

    public static func isHeld(_ name: String) -> Bool { name.hasPrefix(prefix) }
}
