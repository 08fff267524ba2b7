import StazCore
import StazHA

/// One stretch of WAL history: a timeline a server wrote on, from `start`. `id` tells sibling
/// timelines with the same number apart (two servers promoted from the same parent).
struct Segment: Equatable, CustomStringConvertible {
    var id: Int
    var timeline: Int64
    var start: UInt64
    var description: String { "tl\(timeline)#\(id)@\(start)" }
}

/// A simulated PostgreSQL data directory and postmaster: just what the HA decision observes
/// and what replication needs (WAL lineage and position).
struct SimPostgres: Equatable {
    var exists = false
    var running = false
    /// standby.signal / pg_is_in_recovery().
    var inRecovery = false
    var lineage: [Segment] = []
    var lsn: UInt64 = 0
    /// The member named in primary_conninfo.
    var upstream: String?
    var streaming = false
    /// synchronous_standby_names as the server runs with it (nil: empty, commits are async).
    var syncNames: StandbyNames?

    var timeline: Int64 { lineage.last?.timeline ?? 0 }
    var acceptsWrites: Bool { running && !inRecovery }

    /// Whether a standby with our WAL can stream from a server with `source`'s: our history is
    /// a prefix of its history (the same segments, our position not past where it switched).
    func canFollow(_ source: SimPostgres) -> Bool {
        guard !lineage.isEmpty, lineage.count <= source.lineage.count else { return false }
        for (index, segment) in lineage.enumerated() where source.lineage[index].id != segment.id { return false }
        let end = lineage.count < source.lineage.count ? source.lineage[lineage.count].start : source.lsn
        return lsn <= end
    }

    mutating func stop() { running = false; streaming = false }

    mutating func wipe() { self = SimPostgres() }

    mutating func copy(from source: SimPostgres) {
        exists = true
        lineage = source.lineage
        lsn = source.lsn
    }

    /// `timeline`: the number the promotion claimed; PostgreSQL takes it because history files
    /// exist for every number below it (it takes "newest history file + 1").
    mutating func promote(newSegment id: Int, timeline claimed: Int64) {
        inRecovery = false
        upstream = nil
        streaming = false
        lineage.append(Segment(id: id, timeline: max(timeline + 1, claimed), start: lsn))
    }

    func observation(sysid: String, port: (String) -> Int?) -> PostgresObservation {
        var o = PostgresObservation(dataDirectoryEmpty: !exists, isRunning: exists && running)
        guard exists else { return o }
        o.systemIdentifier = sysid
        o.isAcceptingConnections = running
        o.isInRecovery = inRecovery
        o.timeline = timeline
        o.controlDataTimeline = timeline
        o.controlDataState = running ? (inRecovery ? "in archive recovery" : "in production")
                                     : (inRecovery ? "shut down in recovery" : "shut down")
        o.walPosition = LSN(lsn)
        if inRecovery && running {
            o.receiveLSN = LSN(lsn); o.replayLSN = LSN(lsn)
            o.isStreaming = streaming
            if let upstream, let p = port(upstream) { o.upstreamHost = "sim"; o.upstreamPort = p }
        }
        return o
    }
}
