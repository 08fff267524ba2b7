import Foundation
import Logging

/// Stops PostgreSQL *now*, without going through any actor or query: used by the lease keeper
/// when the leader lock is about to expire, so nothing slow can stand between the missed renewal
/// and the end of writes. SIGQUIT is PostgreSQL's immediate shutdown: backends exit at once.
enum Fence {
    static func stopPostmasterImmediately(dataDir: String, logger: Logger) {
        guard let text = try? String(contentsOfFile: dataDir + "/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first, let pid = Int32(first.trimmingCharacters(in: .whitespaces)), pid > 0 else {
            logger.warning("fence: PostgreSQL is not running")
            return
        }
        if kill(pid, SIGQUIT) == 0 {
            logger.warning("fence: sent SIGQUIT (immediate shutdown) to postmaster \(pid)")
        } else {
            logger.error("fence: could not signal postmaster \(pid): errno \(errno)")
        }
    }
}
