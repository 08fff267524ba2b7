/// What must hold after every tick, and at the end once faults stopped.
extension SimWorld {
    func checkInvariants() {
        // Split brain: two servers taking writes at once.
        var writers = 0
        for member in members where member.pg.acceptsWrites { writers += 1 }
        if writers > 1 {
            let names = members.filter { $0.pg.acceptsWrites }.map(\.name)
            violations.append("split brain: \(names.joined(separator: ", ")) accept writes")
        }

        // The cluster's timeline (the DCS history) going back is not a violation under
        // asynchronous replication with Patroni's rules: when the members on the newest
        // timeline are unreachable, a member still on an older one may win the race if it lags
        // by less than maximum_lag_on_failover bytes, and the newer timeline's writes are lost
        // (check_timeline forbids that, at the price of no leader at all in some of these
        // runs, in Patroni as in staz). Counted and traced, so a change in how often it
        // happens is visible.
        let clusterTimeline = dcs.timeline
        if clusterTimeline < lastClusterTimeline {
            timelineRegressions += 1
            log("NOTE cluster timeline went back from \(lastClusterTimeline) to \(clusterTimeline)")
        }
        lastClusterTimeline = clusterTimeline
        for i in members.indices {
            // Every live daemon completes a cycle within its bound (a stalled loop heals nothing).
            let bound = max(5, min(3 * options.loopWait, options.ttl)) + options.loopWait
            if members[i].isActive(at: now), now - members[i].lastCycleAt > bound,
               (members[i].frozenUntil ?? 0) + bound < now {
                violations.append("\(members[i].name): no HA cycle for \(fmt(now - members[i].lastCycleAt)) s")
            }
        }
    }

    /// After the faults stopped: one primary holding the lock, every other member streaming
    /// from it on its history.
    func checkConverged() {
        defer { if !violations.isEmpty { log(stateSummary()) } }
        guard let leader = dcs.liveLeader(at: now), let l = index(of: leader) else {
            violations.append("not converged: no leader at the end"); return
        }
        guard members[l].pg.acceptsWrites else {
            violations.append("not converged: leader \(leader) does not accept writes"); return
        }
        checkAcknowledgedCommitsKept(by: l, "leads at the end")
        for i in members.indices where i != l {
            let pg = members[i].pg
            guard pg.running, pg.inRecovery, pg.upstream == leader, pg.streaming else {
                violations.append("not converged: \(members[i].name) is not streaming from \(leader) "
                                  + "(running \(pg.running), recovery \(pg.inRecovery), upstream \(pg.upstream ?? "-"), streaming \(pg.streaming))")
                continue
            }
        }
    }

    func stateSummary() -> String {
        let history = (dcs.history ?? []).map { "\($0.timeline)@\($0.lsn)" }.joined(separator: ",")
        let each = members.map { m in
            "\(m.name)[\(m.pg.exists ? "" : "empty ")\(m.pg.running ? "running" : "stopped") "
                + "\(m.pg.inRecovery ? "standby" : "primary") \(m.pg.lineage) lsn \(m.pg.lsn) up \(m.pg.upstream ?? "-")]"
        }
        let sync = "sync \(dcs.sync.leader ?? "-")>\(dcs.sync.syncStandbys.sorted())/q\(dcs.sync.quorum)"
        let request = (dcs.failover.map { " request \($0.leader ?? "-")>\($0.candidate ?? "-")" } ?? "")
            + (dcs.failsafe.map { " failsafe \($0.keys.sorted())" } ?? "")
        return "STATE leader \(dcs.liveLeader(at: now) ?? "-") history [\(history)] optime \(dcs.optime ?? -1) \(sync)\(request) "
            + each.joined(separator: " ")
    }
}
