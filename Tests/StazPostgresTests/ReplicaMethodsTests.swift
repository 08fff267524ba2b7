import StazCore
import Testing
@testable import StazPostgres

/// The command lines Patroni's `create_replica` builds for custom replica methods.
@Suite("Replica methods")
struct ReplicaMethodsTests {
    static let restore = JSONObject([("command", "python3 'features/backup restore.py' --sourcedir=/b"),
                                     ("test-argument", "test-value"), ("no_leader", "1"), ("keep_data", true)])

    @Test func argumentsFollowTheSettingsThenPatronisOwn() {
        let words = ReplicaMethods.commandLine("restore", settings: Self.restore, scope: "batman", dataDirectory: "/d",
                                               connstring: "host=10.0.0.1 port=5432")
        #expect(words == ["python3", "features/backup restore.py", "--sourcedir=/b", "--test-argument=test-value",
                          "--no_leader=1", "--keep_data=True", "--scope=batman", "--role=replica", "--datadir=/d",
                          "--connstring=host=10.0.0.1 port=5432"])
    }

    @Test func noParamsDropsPatronisArgumentsAndItsOwnFlags() {
        var settings = Self.restore
        settings["no_params"] = .bool(true)
        let words = ReplicaMethods.commandLine("restore", settings: settings, scope: "batman", dataDirectory: "/d", connstring: "")
        #expect(words == ["python3", "features/backup restore.py", "--sourcedir=/b", "--test-argument=test-value"])
    }

    @Test func theMethodNameIsTheCommandWhenNoneIsGiven() {
        #expect(ReplicaMethods.commandLine("wal_e", settings: nil, scope: "s", dataDirectory: "/d", connstring: "").first == "wal_e")
    }

    @Test func withoutASourceOnlyNoLeaderMethodsAreTried() {
        let settings = ["restore": Self.restore, "wal_g": JSONObject([("command", "wal-g"), ("no_leader", false)])]
        let methods = ["wal_g", "restore", "basebackup"]
        #expect(ReplicaMethods.toTry(methods, settings: settings, hasSource: true) == methods)
        #expect(ReplicaMethods.toTry(methods, settings: settings, hasSource: false) == ["restore"])
        #expect(ReplicaMethods.toTry([], settings: [:], hasSource: true) == ["basebackup"])
        #expect(!ReplicaMethods.worksWithoutLeader("basebackup", settings: ["basebackup": JSONObject([("no_leader", true)])]))
    }

    /// Python's `bool()`: the string "0" is true, an empty string false.
    @Test(arguments: [(JSONValue.string("0"), true), (.string(""), false), (.int(0), false), (.bool(true), true), (.null, false)])
    func truthIsPythons(value: JSONValue, truth: Bool) {
        #expect(ReplicaMethods.pythonTruth(value) == truth)
    }
}
