/// `archive_command` / `restore_command` templates filled in the way PostgreSQL does for one
/// WAL file: `%p` its path, `%f` its name, `%r` the oldest file to keep (staz never knows it:
/// the first possible name, which keeps everything), `%%` a percent sign.
public enum ArchiverCommand {
    public static func build(_ template: String, walDirectory: String, fileName: String) -> String {
        var out = ""
        var characters = template.makeIterator()
        while let c = characters.next() {
            guard c == "%" else { out.append(c); continue }
            switch characters.next() {
            case "p"?: out += walDirectory + "/" + fileName
            case "f"?: out += fileName
            case "r"?: out += "000000010000000000000001"
            case "%"?: out += "%"
            case let other?: out += "%" + String(other)
            case nil: out += "%"
            }
        }
        return out
    }
}

extension ControlData {
    /// The WAL file holding the latest checkpoint's redo record (a clean shutdown's checkpoint).
    public var checkpointRedoWALFile: String? { self["Latest checkpoint's REDO WAL file"] }
}

extension PostgresController {
    /// Hands the WAL file of the shutdown checkpoint to `archive_command`: a stopped primary
    /// never archives the segment it stopped in, and a standby cluster built from the archive
    /// could then not replay up to the checkpoint, so the demoted side would need pg_rewind to
    /// follow the standby cluster's promotion (Patroni's `archive_shutdown_checkpoint_wal`).
    public func archiveShutdownCheckpointWAL(archiveCommand: String, timeout: Double = 60) async -> Bool {
        guard let file = await controlData()?.checkpointRedoWALFile, !file.isEmpty else {
            logger.error("Cannot extract latest checkpoint's WAL file name")
            return false
        }
        let command = ArchiverCommand.build(archiveCommand, walDirectory: dataPath("pg_wal"), fileName: file)
        let result = try? await ProcessRunner.run("/bin/sh", ["-c", command], timeout: timeout)
        guard let result, result.exitCode == 0, !result.timedOut else {
            logger.error("Failed to archive WAL file with the shutdown checkpoint")
            return false
        }
        logger.info("archived \(file), the WAL file of the shutdown checkpoint")
        return true
    }
}
