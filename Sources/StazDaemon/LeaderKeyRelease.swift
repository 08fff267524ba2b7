import Logging
import StazDCS

extension DCSClient {
    /// Deletes our leader key once PostgreSQL is down (switchover, demotion, shutdown) and says
    /// in the log what happened. A failed delete used to pass in silence: nobody can take over
    /// until the key goes, so the log has to show why a switchover stalled.
    func releaseLeaderKey(logger: Logger) async {
        do {
            if try await deleteLeader() {
                logger.info("Leader key released")
            } else {
                logger.info("the leader key was no longer ours: nothing to release")
            }
        } catch {
            logger.error("failed to delete the leader key after stopping PostgreSQL: \(error)")
        }
    }
}
