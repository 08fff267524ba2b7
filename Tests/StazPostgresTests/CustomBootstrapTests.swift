import StazCore
import Testing
@testable import StazPostgres

/// Patroni's `_custom_bootstrap` command line and the recovery the restored cluster starts with.
@Suite("Custom bootstrap")
struct CustomBootstrapTests {
    @Test func argumentsAreScopeDatadirThenTheRest() {
        let settings = JSONObject([("command", "python3 features/backup_restore.py --sourcedir=/b"), ("keep_existing_recovery_conf", true),
                                   ("recovery_conf", .object(JSONObject([("restore_command", "cp %f %p")]))),
                                   ("test-argument", "test-value"), ("scope", "ignored")])
        #expect(CustomBootstrap.commandLine(settings, scope: "batman2", dataDirectory: "/d")
                == ["python3", "features/backup_restore.py", "--sourcedir=/b", "--scope=batman2", "--datadir=/d",
                    "--test-argument=test-value"])
        var quiet = settings
        quiet["no_params"] = .bool(true)
        #expect(CustomBootstrap.commandLine(quiet, scope: "batman2", dataDirectory: "/d")
                == ["python3", "features/backup_restore.py", "--sourcedir=/b", "--test-argument=test-value"])
    }

    @Test func recoveryConfWinsOverKeepingTheRestoresOwn() {
        let conf = JSONObject([("restore_command", "cp /a/%f %p"), ("recovery_target_action", "promote"), ("standby_mode", false)])
        let both = JSONObject([("command", "x"), ("recovery_conf", .object(conf)), ("keep_existing_recovery_conf", true)])
        #expect(CustomBootstrap.recovery(both) == .parameters([("restore_command", "cp /a/%f %p"), ("recovery_target_action", "promote")],
                                                               standby: false))
        #expect(CustomBootstrap.recovery(JSONObject([("command", "x"), ("keep_existing_recovery_conf", true)])) == .keepExisting)
        #expect(CustomBootstrap.recovery(JSONObject([("command", "x")])) == nil)
    }
}
