import Testing
import StazCore
import StazConfig
@testable import StazHA

/// The leader's synchronous-replication step (Patroni's `Ha.process_sync_replication`), one action at a time.
@Suite("Sync planner")
struct SyncPlannerTests {
    static func members(_ names: [String], noSync: Set<String> = []) -> [Member] {
        names.map { name in
            var m = member(name)
            if noSync.contains(name) { m.data["tags"] = .object(JSONObject([("nosync", .bool(true))])) }
            return m
        }
    }

    static func sender(_ name: String, _ syncState: String = "async", lsn: UInt64 = baseLSN) -> WalSender {
        WalSender(applicationName: name, state: "streaming", syncState: syncState, lsn: LSN(lsn))
    }

    static func plannerInput(_ settings: DynamicSettings, sync: SyncState, senders: [WalSender],
                             names: StandbyNames?, noSync: Set<String> = [], appliedAt: UInt64? = baseLSN) -> SyncPlannerInput {
        SyncPlannerInput(me: "node1", settings: settings, members: members(["node1", "node2", "node3"], noSync: noSync),
                         sync: sync, walSenders: senders, standbyNames: names, standbyNamesAppliedAt: appliedAt.map(LSN.init))
    }

    static let mine = SyncState(leader: "node1", syncStandbys: [], quorum: 0, version: "3")

    @Test(arguments: [
        (StandbyNames(count: 1, names: ["node2"], isQuorum: false), "node2"),
        (StandbyNames(count: 2, names: ["node3", "node2"], isQuorum: false), "2 (node2,node3)"),
        (StandbyNames(count: 1, names: ["b-2", "a"], isQuorum: true), "ANY 1 (a,\"b-2\")"),
        (StandbyNames(count: 1, names: ["first"], isQuorum: false), "\"first\""),
        (StandbyNames(count: 1, names: [strictSyncPlaceholder], isQuorum: true), "ANY 1 (__patroni_strict_sync_replica_placeholder__)"),
    ])
    func rendering(_ names: StandbyNames, _ expected: String) {
        #expect(names.text == expected)
    }

    @Test func enablesSyncKeyFirst() {
        let action = nextSyncAction(Self.plannerInput(priorityMode, sync: SyncState(), senders: [Self.sender("node2")], names: nil))
        #expect(action == .writeSync(SyncState(leader: "node1", syncStandbys: [], quorum: 0), log: "Enabled synchronous replication"))
    }

    @Test func picksBestStreamingStandbyThenConfirmsIt() {
        let senders = [Self.sender("node2", lsn: baseLSN - 10), Self.sender("node3")]
        let first = nextSyncAction(Self.plannerInput(priorityMode, sync: Self.mine, senders: senders, names: nil))
        #expect(first == .setStandbyNames(StandbyNames(count: 1, names: ["node3"], isQuorum: false), log: "Assigning synchronous standby status to ['node3']"))
        // Listed in /sync only once PostgreSQL reports it synchronous and caught up.
        let notYet = nextSyncAction(Self.plannerInput(priorityMode, sync: Self.mine, senders: senders,
                                                      names: StandbyNames(count: 1, names: ["node3"], isQuorum: false)))
        #expect(notYet == nil)
        let confirmed = nextSyncAction(Self.plannerInput(priorityMode, sync: Self.mine, senders: [Self.sender("node2"), Self.sender("node3", "sync")],
                                                         names: StandbyNames(count: 1, names: ["node3"], isQuorum: false)))
        #expect(confirmed == .writeSync(SyncState(leader: "node1", syncStandbys: ["node3"], quorum: 0), log: "Synchronous standby status assigned to ['node3']"))
    }

    /// maximum_lag_on_syncnode (Patroni's `SyncHandler.current_state`): a lagging synchronous
    /// standby gives way to one within the limit; with one standby the lag is counted from the
    /// primary; 0 and -1 switch the rule off.
    @Test func aSyncStandbyLaggingPastTheLimitIsReplaced() {
        var settings = priorityMode
        settings.maximumLagOnSyncNode = 1_000
        let current = StandbyNames(count: 1, names: ["node2"], isQuorum: false)
        let lagging = [Self.sender("node2", "sync", lsn: baseLSN - 5_000), Self.sender("node3", "potential")]
        let action = nextSyncAction(Self.plannerInput(settings, sync: Self.mine, senders: lagging, names: current))
        #expect(action == .setStandbyNames(StandbyNames(count: 1, names: ["node3"], isQuorum: false),
                                           log: "Assigning synchronous standby status to ['node3']"))
        for off in [Int64(0), -1] {
            settings.maximumLagOnSyncNode = off
            #expect(nextSyncAction(Self.plannerInput(settings, sync: Self.mine, senders: lagging, names: current)) == nil,
                    "maximum_lag_on_syncnode \(off) keeps the lagging standby")
        }
    }

    @Test func aSingleStandbysLagCountsFromThePrimary() {
        var settings = priorityMode
        settings.maximumLagOnSyncNode = 1_000
        var input = Self.plannerInput(settings, sync: Self.mine, senders: [Self.sender("node2", lsn: baseLSN - 5_000)], names: nil)
        input.primaryLSN = LSN(baseLSN)
        #expect(nextSyncAction(input) == nil, "a standby 5,000 bytes behind the primary is not made synchronous")
        input.primaryLSN = LSN(baseLSN - 4_500)
        #expect(nextSyncAction(input) == .setStandbyNames(StandbyNames(count: 1, names: ["node2"], isQuorum: false),
                                                          log: "Assigning synchronous standby status to ['node2']"))
    }

    @Test(arguments: [("remote_apply" as String?, WalSender.Position.replay), ("remote_write", .write), ("on", .flush),
                      ("local", .flush), (nil, .flush)])
    func theCommitPositionFollowsSynchronousCommit(setting: String?, expected: WalSender.Position) {
        #expect(WalSender.position(for: setting) == expected)
    }

    /// Patroni's once-per-episode warning: strict mode and nobody who could confirm a commit
    /// (no standby streaming, or only `nosync` ones), in either mode; never outside strict mode.
    @Test func strictModeIsStarvedOnlyWithoutAnEligibleStandby() {
        var strict = priorityMode
        strict.synchronousModeStrict = true
        var quorum = strict
        quorum.synchronousMode = "quorum"
        for settings in [strict, quorum] {
            #expect(strictModeIsStarved(Self.plannerInput(settings, sync: Self.mine, senders: [], names: nil)))
            #expect(strictModeIsStarved(Self.plannerInput(settings, sync: Self.mine, senders: [Self.sender("node3")],
                                                          names: nil, noSync: ["node3"])))
            #expect(!strictModeIsStarved(Self.plannerInput(settings, sync: Self.mine, senders: [Self.sender("node2")], names: nil)))
        }
        #expect(!strictModeIsStarved(Self.plannerInput(priorityMode, sync: Self.mine, senders: [], names: nil)))
    }

    @Test func nosyncStandbyIsNeverPicked() {
        let action = nextSyncAction(Self.plannerInput(priorityMode, sync: Self.mine, senders: [Self.sender("node2"), Self.sender("node3")],
                                                      names: nil, noSync: ["node3"]))
        #expect(action == .setStandbyNames(StandbyNames(count: 1, names: ["node2"], isQuorum: false), log: "Assigning synchronous standby status to ['node2']"))
    }

    @Test func lostStandbyLeavesSyncKeyBeforeTheParameterChanges() {
        let sync = SyncState(leader: "node1", syncStandbys: ["node2"], quorum: 0, version: "4")
        let action = nextSyncAction(Self.plannerInput(priorityMode, sync: sync, senders: [Self.sender("node3")],
                                                      names: StandbyNames(count: 1, names: ["node2"], isQuorum: false)))
        #expect(action == .writeSync(SyncState(leader: "node1", syncStandbys: [], quorum: 0), log: "Updating /sync key temporarily from ['node2'] to []"))
    }

    @Test func strictModeKeepsTheLastSyncStandbyWhenNoneStreams() {
        let sync = SyncState(leader: "node1", syncStandbys: ["node2"], quorum: 0, version: "4")
        let names = StandbyNames(count: 1, names: ["node2"], isQuorum: false)
        #expect(nextSyncAction(Self.plannerInput(strictMode, sync: sync, senders: [], names: names)) == nil)
        let fresh = nextSyncAction(Self.plannerInput(strictMode, sync: Self.mine, senders: [], names: nil))
        guard case .setStandbyNames(let placeholder, _) = fresh else { Issue.record("expected the placeholder, got \(String(describing: fresh))"); return }
        #expect(placeholder?.names == [strictSyncPlaceholder])
    }

    @Test func nonStrictWithoutStandbysEmptiesTheParameter() {
        let action = nextSyncAction(Self.plannerInput(priorityMode, sync: Self.mine, senders: [],
                                                      names: StandbyNames(count: 1, names: ["node2"], isQuorum: false)))
        #expect(action == .setStandbyNames(nil, log: "Assigning synchronous standby status to []"))
    }

    @Test func modeOffDeletesTheSyncKey() {
        let action = nextSyncAction(Self.plannerInput(settings(), sync: Self.mine, senders: [], names: nil))
        #expect(action == .deleteSync(log: "Disabled synchronous replication"))
        #expect(nextSyncAction(Self.plannerInput(settings(), sync: SyncState(), senders: [], names: nil)) == nil)
    }

    @Test func quorumGrowsVotersBeforeTheParameterAndEndsStable() {
        var sync = Self.mine
        var names: StandbyNames? = nil
        let senders = [Self.sender("node2", "quorum"), Self.sender("node3", "quorum")]
        var steps = 0
        while let action = nextSyncAction(Self.plannerInput(quorumMode, sync: sync, senders: senders, names: names)), steps < 10 {
            switch action {
            case .writeSync(let state, _): sync = state
            case .setStandbyNames(let n, _): names = n
            case .deleteSync: Issue.record("unexpected delete")
            }
            // Every intermediate state keeps acknowledging and promoting sets overlapping.
            #expect(quorumIsSafe(voters: sync.syncStandbys, quorum: sync.quorum, standbys: names))
            steps += 1
        }
        #expect(names?.text == "ANY 1 (node2,node3)")
        #expect(sync.syncStandbys == ["node2", "node3"] && sync.quorum == 1)
    }

    @Test func quorumShrinksTheParameterBeforeTheVoters() {
        let sync = SyncState(leader: "node1", syncStandbys: ["node2", "node3"], quorum: 1, version: "5")
        let names = StandbyNames(count: 1, names: ["node2", "node3"], isQuorum: true)
        let action = nextSyncAction(Self.plannerInput(quorumMode, sync: sync, senders: [Self.sender("node2", "quorum")], names: names))
        #expect(action == .setStandbyNames(StandbyNames(count: 1, names: ["node2"], isQuorum: true), log: "Setting synchronous_standby_names to 'ANY 1 (node2)'"))
        #expect(!quorumIsSafe(voters: ["node2"], quorum: 0, standbys: names))
    }
}
