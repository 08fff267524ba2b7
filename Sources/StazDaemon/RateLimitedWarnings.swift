/// Warnings about a condition that persists (a DCS value staz cannot use): each text is logged
/// when it first appears and again at most every `interval` while it lasts; one that went away
/// is logged again when it comes back.
struct RateLimitedWarnings {
    let interval: Duration
    private var lastLogged: [String: ContinuousClock.Instant] = [:]

    init(interval: Duration = .seconds(300)) { self.interval = interval }

    /// The texts to log now, of the ones currently present.
    mutating func due(_ present: [String], now: ContinuousClock.Instant = .now) -> [String] {
        lastLogged = lastLogged.filter { present.contains($0.key) }
        var due: [String] = []
        for text in present where lastLogged[text].map({ now - $0 >= interval }) ?? true {
            lastLogged[text] = now
            due.append(text)
        }
        return due
    }
}
