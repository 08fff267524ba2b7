import StazCore

extension DynamicSettings {
    /// The `slots` map, typed (already checked and normalised by the parser: every entry has
    /// its `type`, logical ones their database and plugin). A standby cluster has no logical
    /// ones: its leader cannot decode, and its own replicas' copies would have no source.
    public var permanentSlotList: [PermanentSlot] {
        permanentSlots.pairs.compactMap { name, value in
            guard let slot = value.objectValue else { return nil }
            if slot["type"]?.stringValue == "logical" {
                if standbyCluster != nil { return nil }
                guard let database = slot["database"]?.stringValue, let plugin = slot["plugin"]?.stringValue else { return nil }
                return PermanentSlot(name: name, kind: .logical(database: database, plugin: plugin))
            }
            return PermanentSlot(name: name, kind: .physical)
        }
    }

    /// `ignore_slots`, typed: slots they match are never dropped, whatever made them.
    public var ignoreSlotMatchers: [SlotMatcher] {
        ignoreSlots.map { matcher in
            SlotMatcher(name: matcher["name"]?.stringValue, type: matcher["type"]?.stringValue,
                        database: matcher["database"]?.stringValue, plugin: matcher["plugin"]?.stringValue)
        }
    }
}
