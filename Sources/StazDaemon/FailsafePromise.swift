import Foundation
import Logging
import StazPostgres
import StazFence
import StazSystem

/// The promise a member made by answering "Accepted" to `POST /failsafe`, kept in a file of its
/// data directory so that it outlives the staz process that made it.
///
/// The leader stays primary until `ttl` after its round was sent, counting on every member that
/// accepted to neither race nor promote for `ttl` after receiving it. A member whose staz was
/// restarted in that window (systemd after a crash, an operator) forgot the promise, raced for
/// the expired lock and promoted while the old leader still took writes: the whole-cluster
/// simulation found that split brain. Patroni keeps the promise in memory only
/// (`Failsafe.update` in patroni/ha.py). The expiry is stored on the boot clock, like the fence
/// guard's deadline: wall-clock steps do not move it, and a reboot (a new boot ID) voids it.
struct FailsafePromise: Equatable {
    static let fileName = "staz-failsafe-promise"
    static let header = "staz failsafe promise v1"

    var leader: String
    var apiURL: String
    var connURL: String
    var bootID: String
    var dataDirectory: String
    var expiresAt: BootNanoseconds

    var text: String {
        StateFile.render(header: Self.header, [("leader", leader), ("api_url", apiURL), ("conn_url", connURL),
                                               ("boot_id", bootID), ("data_dir", dataDirectory),
                                               ("expires_boottime_ns", "\(expiresAt)")])
    }

    /// nil for anything but a complete file of this format (a torn or foreign file binds nobody:
    /// writes go through a rename, so only a file damaged by other means can be incomplete).
    static func parse(_ text: String) -> FailsafePromise? {
        guard case .success(let values) = StateFile.fields(of: text, header: header), let leader = values["leader"], !leader.isEmpty, let apiURL = values["api_url"], let connURL = values["conn_url"],
              let bootID = values["boot_id"], let dataDirectory = values["data_dir"],
              let expiresAt = values["expires_boottime_ns"].flatMap({ Int64($0) }) else { return nil }
        return FailsafePromise(leader: leader, apiURL: apiURL, connURL: connURL, bootID: bootID,
                               dataDirectory: dataDirectory, expiresAt: expiresAt)
    }

    /// How long it still binds a process on `bootID` running on `dataDirectory` (nil: not at
    /// all; a copy made by pg_basebackup or pg_rewind, or one from before a reboot, never binds).
    func remaining(bootID: String, dataDirectory: String, bootNow: BootNanoseconds) -> Duration? {
        guard self.bootID == bootID, self.dataDirectory == dataDirectory else { return nil }
        let left = FenceClock.remaining(until: expiresAt, bootNow: bootNow)
        return left > .zero ? left : nil
    }
}

/// Reads and writes `FailsafePromise` in one data directory.
struct FailsafePromiseFile: Sendable {
    let dataDirectory: String
    let logger: Logger

    init(dataDirectory: String, logger: Logger) {
        self.dataDirectory = FenceSystem.canonicalPath(dataDirectory)
        self.logger = logger
    }

    var path: String { dataDirectory + "/" + FailsafePromise.fileName }

    /// Records a promise made now for `ttl`. The boot clock is read after the promise was
    /// taken in memory, so the file never expires before it. A data directory without a
    /// cluster (a member still to be cloned) cannot promote anyway: nothing is recorded there,
    /// where a file would make initdb refuse the directory as not empty.
    func record(leader: String, apiURL: String, connURL: String, ttl: Duration) {
        let promise = FailsafePromise(leader: leader, apiURL: apiURL, connURL: connURL, bootID: FenceSystem.bootID(),
                                      dataDirectory: dataDirectory,
                                      expiresAt: FenceClock.bootDeadline(bootNow: FenceSystem.bootNow(), remaining: ttl))
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return }
        do {
            try StateFile.replace(path, with: promise.text)
        } catch {
            logger.warning("could not record the failsafe promise to \(leader) in \(path): \(error)")
        }
    }

    /// A promise a previous staz process made on this data directory that still binds.
    func load() -> (promise: FailsafePromise, remaining: Duration)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        guard let promise = FailsafePromise.parse(text) else {
            logger.warning("ignoring \(path): not a failsafe promise file")
            return nil
        }
        guard let left = promise.remaining(bootID: FenceSystem.bootID(), dataDirectory: dataDirectory,
                                           bootNow: FenceSystem.bootNow()) else { return nil }
        return (promise, left)
    }
}
