extension ConfigParser {
    /// `watchdog:` as Patroni reads it (`WatchdogConfig`, `parse_mode`), except that a mode it
    /// does not know is an error here: Patroni silently runs without a watchdog then.
    static func parseWatchdog(_ top: SectionReader) -> WatchdogSection {
        var section = WatchdogSection()
        guard let reader = top.section("watchdog") else { return section }
        if let raw = reader.raw("mode") {
            if let mode = watchdogMode(YAMLConversion.scalarText(raw)) {
                section.mode = mode
            } else {
                reader.diagnostics.error(reader.keyPath("mode"), "expected off, automatic or required, got \(YAMLConversion.scalarText(raw) ?? describeKind(raw))")
            }
        }
        if let margin = reader.int("safety_margin", min: -1) { section.safetyMargin = margin }
        if let driver = reader.string("driver") {
            if let known = WatchdogSection.Driver(rawValue: driver) {
                section.driver = known
            } else {
                reader.diagnostics.error(reader.keyPath("driver"), "expected default or testing, got \(driver)")
            }
        }
        if let device = reader.string("device") {
            if device.isEmpty { reader.diagnostics.error(reader.keyPath("device"), "must not be empty") } else { section.device = device }
        }
        // Patroni hands every other key to the driver, which reads none: a key here is a typo.
        reader.finishRejectingUnknownKeys()
        return section
    }

    /// Patroni's spellings: require/required, auto/automatic, off/disable/disabled.
    static func watchdogMode(_ text: String?) -> WatchdogSection.Mode? {
        switch text?.lowercased() {
        case "require", "required": return .required
        case "auto", "automatic": return .automatic
        // `false`: YAML 1.1 reads an unquoted `off` as a boolean.
        case "off", "disable", "disabled", "false": return .off
        default: return nil
        }
    }
}
