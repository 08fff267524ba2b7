/// `log.deduplicate_heartbeat_logs`: a heartbeat line ("no action. ..." or "PAUSE: no action
/// ...") identical to the previous one is left out, so a quiet cluster does not log the same
/// line every `loop_wait`. Any other line in between lets the next heartbeat through, so what
/// the loop did around an event is always visible. Patroni applies it only with `log.level`
/// INFO: at DEBUG every cycle shows, at WARNING no heartbeat does.
struct HeartbeatDeduplicator {
    private var lastHeartbeat: String?

    static func isHeartbeat(_ message: String) -> Bool {
        message.hasPrefix("no action. ") || message.hasPrefix("PAUSE: no action")
    }

    mutating func admits(_ message: String) -> Bool {
        guard HeartbeatDeduplicator.isHeartbeat(message) else {
            lastHeartbeat = nil
            return true
        }
        if message == lastHeartbeat { return false }
        lastHeartbeat = message
        return true
    }
}
