import Foundation
import StazCore

extension ConfigParser {
    static let knownBinaries = ["pg_ctl", "initdb", "pg_controldata", "pg_basebackup", "postgres", "pg_isready", "pg_rewind"]
    static let knownCallbacks = ["on_start", "on_stop", "on_restart", "on_reload", "on_role_change"]
    static let forbiddenInitdbOptions: Set<String> = ["pgdata", "nosync", "pwfile", "sync-only", "version"]
    static let forbiddenBasebackupOptions: Set<String> = ["pgdata", "format", "wal-method", "xlog-method"]
    static let forbiddenRewindOptions: Set<String> = ["target-pgdata", "source-pgdata", "source-server", "write-recovery-conf",
                                                       "dry-run", "restore-target-wal", "config-file", "no-ensure-shutdown",
                                                       "version", "help"]

    static func parsePostgreSQL(_ top: SectionReader, environment: [String: String]) -> PostgreSQLSection? {
        guard let reader = top.section("postgresql") else {
            if !top.has("postgresql") {
                for key in ["listen", "data_dir", "authentication.superuser.username", "authentication.replication.username"] {
                    top.diagnostics.error("postgresql." + key, "missing required key")
                }
            }
            return nil
        }
        let diagnostics = reader.diagnostics
        let listen = reader.string("listen", required: true)
        if let listen { validateListenAddress(listen, path: reader.keyPath("listen"), diagnostics: diagnostics) }
        let connect = reader.string("connect_address")
        if let connect { validateListenAddress(connect, path: reader.keyPath("connect_address"), diagnostics: diagnostics) }
        let dataDir = reader.string("data_dir", required: true)

        let auth = reader.section("authentication")
        if auth == nil && !reader.has("authentication") {
            diagnostics.error(reader.keyPath("authentication.superuser.username"), "missing required key")
            diagnostics.error(reader.keyPath("authentication.replication.username"), "missing required key")
        }
        let superuser = auth.flatMap { credentials($0, role: "superuser", required: true) }
        let replication = auth.flatMap { credentials($0, role: "replication", required: true) }
        let rewind = auth.flatMap { credentials($0, role: "rewind", required: false) }
        auth?.finish()

        var section = PostgreSQLSection(listen: listen ?? "", connectAddress: connect ?? defaultConnectAddress(fromListen: listen ?? ""),
                                        dataDir: dataDir ?? "", pgpass: "",
                                        superuser: superuser ?? Credentials(username: ""),
                                        replication: replication ?? Credentials(username: ""))
        section.pgpass = resolvePgpass(reader.string("pgpass"), environment: environment)
        section.rewind = rewind
        section.proxyAddress = reader.string("proxy_address")
        section.configDir = reader.string("config_dir")
        section.binDir = reader.string("bin_dir")
        if let names = reader.section("bin_name") {
            for binary in knownBinaries { if let v = names.string(binary) { section.binNames[binary] = v } }
            names.finish()
        }
        if let parameters = reader.mapping("parameters") {
            section.parameters = parameters
            for key in parameters.keys where PostgresParameterRules.isCommandLineOption(key) {
                diagnostics.warn(reader.keyPath("parameters.\(key)"),
                    "'\(reader.keyPath("parameters.\(key)"))' can only be set in the dynamic configuration (bootstrap.dcs / DCS config); local value ignored")
            }
        }
        section.pgHBA = reader.stringList("pg_hba")
        section.pgIdent = reader.stringList("pg_ident")
        section.usePgRewind = reader.bool("use_pg_rewind")
        section.useSlots = reader.bool("use_slots")
        if section.useSlots != nil {
            diagnostics.warn(reader.keyPath("use_slots"), "'postgresql.use_slots' is only honoured in the dynamic configuration; local value ignored")
        }
        section.pgCtlTimeout = reader.number("pg_ctl_timeout", exclusiveMin: 0) ?? 60
        if let callbacks = reader.section("callbacks") {
            for name in knownCallbacks { if let v = callbacks.string(name) { section.callbacks[name] = v } }
            callbacks.finish()
        }
        if let methods = reader.stringList("create_replica_methods") {
            section.createReplicaMethods = methods
            if methods.isEmpty { diagnostics.error(reader.keyPath("create_replica_methods"), "must list at least one method") }
        }
        for method in section.createReplicaMethods where method != "basebackup" {
            if let settings = reader.mapping(method) {
                section.replicaMethodSettings[method] = settings
                if settings["command"]?.stringValue.map({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? true {
                    diagnostics.error(reader.keyPath("\(method).command"), "missing required key (replica method '\(method)')")
                }
            } else if !reader.has(method) {
                diagnostics.error(reader.keyPath(method), "missing required key: settings of replica method '\(method)'")
            }
        }
        section.basebackupArguments = toolArguments(reader, key: "basebackup", forbidden: forbiddenBasebackupOptions)
        section.rewindArguments = toolArguments(reader, key: "rewind", forbidden: forbiddenRewindOptions)
        section.removeDataDirectoryOnRewindFailure = reader.bool("remove_data_directory_on_rewind_failure") ?? false
        section.removeDataDirectoryOnDivergedTimelines = reader.bool("remove_data_directory_on_diverged_timelines") ?? false
        section.prePromote = reader.string("pre_promote")
        section.beforeStop = reader.string("before_stop")
        if let conf = reader.mapping("recovery_conf") {
            section.recoveryConf = conf
            for (key, value) in conf.pairs {
                let path = reader.keyPath("recovery_conf") + "." + key
                if !PostgreSQLSection.standbyRecoverySettings.contains(key) {
                    // Patroni writes these too, but staz owns them (the upstream, the slot, the
                    // timeline to follow) or they make no sense for a standby that follows.
                    diagnostics.error(path, "not a setting a replica's recovery takes from the configuration; allowed: "
                                      + PostgreSQLSection.standbyRecoverySettings.joined(separator: ", "))
                } else if value.objectValue != nil || value.arrayValue != nil {
                    diagnostics.error(path, "expected a single value, got \(describeKind(value))")
                }
            }
        }
        section.customConf = reader.string("custom_conf")
        section.useUnixSocket = reader.bool("use_unix_socket") ?? false
        section.useUnixSocketRepl = reader.bool("use_unix_socket_repl") ?? false
        reader.unsupported("krbsrvname", "config_base_name")
        // Other methods a standby cluster's `create_replica_methods` may name (they live in the
        // dynamic configuration, so any section with a command may be one).
        for key in reader.unreadKeys() {
            guard let settings = reader.object[key]?.objectValue, settings["command"]?.stringValue != nil else { continue }
            reader.accept(key)
            section.replicaMethodSettings[key] = settings
        }
        reader.finish()
        return section
    }

    private static func credentials(_ auth: SectionReader, role: String, required: Bool) -> Credentials? {
        guard let reader = auth.section(role) else {
            if required && !auth.has(role) { auth.diagnostics.error(auth.keyPath("\(role).username"), "missing required key") }
            return nil
        }
        guard let username = reader.string("username", required: true) else { reader.finish(); return nil }
        var credentials = Credentials(username: username, password: reader.string("password"))
        credentials.sslmode = reader.string("sslmode")
        if let mode = credentials.sslmode, !Credentials.sslModes.contains(mode) {
            reader.diagnostics.error(reader.keyPath("sslmode"), "expected one of \(Credentials.sslModes.joined(separator: ", ")), got '\(mode)'")
        }
        for option in ["sslkey", "sslpassword", "sslcert", "sslrootcert", "sslcrl", "sslcrldir", "sslnegotiation",
                       "gssencmode", "channel_binding"] {
            if let v = reader.string(option) { credentials.connectionOptions[option] = v }
        }
        if role == "superuser" {
            for (key, reason) in credentials.optionsOwnConnectionsCannotHonour() {
                reader.diagnostics.error(reader.keyPath(key), "not supported for the superuser: \(reason)")
            }
        }
        reader.finish()
        return credentials
    }

    /// `pgpass` default is `~/pgpass` of the running user; relative paths are made absolute
    /// like Patroni's `os.path.abspath`.
    static func resolvePgpass(_ configured: String?, environment: [String: String]) -> String {
        let home = environment["HOME"] ?? NSHomeDirectory()
        var path = configured ?? "~/pgpass"
        if path == "~" { path = home } else if path.hasPrefix("~/") { path = home + String(path.dropFirst(1)) }
        if !path.hasPrefix("/") { path = FileManager.default.currentDirectoryPath + "/" + path }
        return path
    }

    /// Patroni's `process_user_options`: a list of `option` / `{option: value}` items or a
    /// mapping, rendered as `--option` / `--option=value`; forbidden options are errors.
    static func toolArguments(_ reader: SectionReader, key: String, forbidden: Set<String>) -> [String] {
        guard let value = reader.raw(key) else { return [] }
        let diagnostics = reader.diagnostics
        var arguments: [String] = []
        func add(_ option: String, _ optionValue: JSONValue?, path: String) {
            if forbidden.contains(option) {
                diagnostics.error(path, "option '\(option)' is not allowed (staz sets it itself)"); return
            }
            guard let optionValue else { arguments.append("--\(option)"); return }
            guard let text = YAMLConversion.scalarText(optionValue) else {
                diagnostics.error(path, "value of option '\(option)' must be a string, got \(describeKind(optionValue))"); return
            }
            arguments.append("--\(option)=\(unquote(text))")
        }
        switch value {
        case .array(let items):
            for (index, item) in items.enumerated() {
                let path = reader.keyPath(key) + "[\(index)]"
                switch item {
                case .string(let option): add(option, nil, path: path)
                case .object(let pair) where pair.pairs.count == 1: add(pair.pairs[0].0, pair.pairs[0].1, path: path)
                default:
                    diagnostics.error(path, "expected an option name or a single 'option: value' pair, got \(describeKind(item))")
                }
            }
        case .object(let options):
            for (option, optionValue) in options.pairs { add(option, optionValue, path: reader.keyPath(key) + "." + option) }
        default:
            reader.typeError(key, expected: "a list or a mapping of options", got: value)
        }
        return arguments
    }

    private static func unquote(_ text: String) -> String {
        for quote in ["'", "\""] where text.count >= 2 && text.hasPrefix(quote) && text.hasSuffix(quote) {
            return String(text.dropFirst().dropLast())
        }
        return text
    }

    static func parseBootstrap(_ top: SectionReader) -> BootstrapSection {
        var bootstrap = BootstrapSection()
        guard let reader = top.section("bootstrap") else { return bootstrap }
        if let dcs = reader.mapping("dcs") {
            bootstrap.dcs = dcs
            _ = DynamicConfigParser.parse(dcs, path: reader.keyPath("dcs"), diagnostics: reader.diagnostics, strict: true)
        }
        if let method = reader.string("method"), !method.isEmpty { bootstrap.method = method }
        bootstrap.initdbArguments = toolArguments(reader, key: "initdb", forbidden: forbiddenInitdbOptions)
        bootstrap.pgHBA = reader.stringList("pg_hba") ?? []
        bootstrap.postBootstrap = reader.string("post_bootstrap") ?? reader.string("post_init")
        reader.accept("post_bootstrap", "post_init")
        if bootstrap.method != "initdb" {
            // Patroni falls back to initdb when the method has no command; staz refuses: initdb
            // would start an empty primary where a restore was asked for.
            if let settings = reader.mapping(bootstrap.method) {
                bootstrap.methodSettings = settings
                let path = reader.keyPath(bootstrap.method)
                if settings["command"]?.stringValue.map({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? true {
                    reader.diagnostics.error(path + ".command", "missing required key (bootstrap method '\(bootstrap.method)')")
                }
                if let conf = settings["recovery_conf"], !conf.isNull, conf.objectValue == nil {
                    reader.diagnostics.error(path + ".recovery_conf", "expected a mapping of recovery settings, got \(describeKind(conf))")
                }
                for key in ["keep_existing_recovery_conf", "no_params"] {
                    if let flag = settings[key], !flag.isNull, flag.boolValue == nil {
                        reader.diagnostics.error(path + "." + key, "expected a boolean, got \(describeKind(flag))")
                    }
                }
            } else if !reader.has(bootstrap.method) {
                reader.diagnostics.error(reader.keyPath(bootstrap.method), "missing required key: settings of bootstrap method '\(bootstrap.method)'")
            }
        }
        reader.unsupported("users")
        reader.finish()
        return bootstrap
    }
}
