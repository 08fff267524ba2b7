import StazCore
import Foundation

/// Buffered JSON-lines writer; flushes every 0.5 s worth of lines and at the end, plus a
/// one-line summary on stderr.
final class ProbeLog {
    private let handle: FileHandle
    private var buffer = ""
    private var pending = 0
    private var attempts = 0
    private var acknowledged = 0
    private var lastAck: Double?
    private var longestGap = 0.0

    init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ProbeLogError(path: path)
            }
            guard let file = FileHandle(forWritingAtPath: path) else { throw ProbeLogError(path: path) }
            handle = file
        }
    }

    func append(_ outcome: ProbeOutcome) {
        attempts += 1
        let ack = outcome.ack.map { String(format: "%.6f", $0) } ?? "null"
        var line = "{\"id\":\(outcome.id),\"send\":\(String(format: "%.6f", outcome.send)),\"ack\":\(ack),\"ok\":\(outcome.ack != nil)"
        if let error = outcome.error { line += ",\"error\":\(jsonString(error))" }
        buffer += line + "}\n"
        if let ackTime = outcome.ack {
            acknowledged += 1
            if let lastAck { longestGap = max(longestGap, ackTime - lastAck) }
            lastAck = ackTime
        }
        pending += 1
        if pending >= 50 { flush() }
    }

    func finish() {
        flush()
        let summary = String(format: "staz-probe: %d attempts, %d acknowledged, longest gap between acks %.3f s\n",
                             attempts, acknowledged, longestGap)
        FileHandle.standardError.write(Data(summary.utf8))
    }

    private func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer.utf8))
        buffer = ""
        pending = 0
    }

    private func jsonString(_ text: String) -> String {
        JSONValue.string(String(text.prefix(300))).compactString
    }
}

struct ProbeLogError: Error, CustomStringConvertible {
    var path: String
    var description: String { "cannot open probe output file \(path) for writing" }
}

/// Set by SIGTERM/SIGINT; the write loop checks it between attempts.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }

    func set() { lock.lock(); value = true; lock.unlock() }

    func installSignalHandlers() -> [DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.set() }
            source.resume()
            return source
        }
    }
}
