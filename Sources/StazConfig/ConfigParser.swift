import Foundation
import StazCore

/// Turns a raw (already merged) configuration tree into a `StazConfiguration`, collecting every
/// problem. Returns nil when anything required is missing or wrongly typed; the caller then
/// throws all the collected issues at once, so a broken config is never half-applied.
enum ConfigParser {
    static let reservedMemberName = "__patroni_strict_sync_replica_placeholder__"

    static func parse(_ root: JSONObject, environment: [String: String], diagnostics: Diagnostics) -> StazConfiguration? {
        let top = SectionReader(path: "", object: root, diagnostics: diagnostics)
        let scope = top.string("scope", required: true)
        let name = top.string("name", required: true)
        if name == reservedMemberName { diagnostics.error("name", "'\(reservedMemberName)' is reserved") }
        let namespace = top.string("namespace")

        let restapi = parseRestAPI(top)
        let (etcd, etcd3) = parseDCS(top)
        let postgresql = parsePostgreSQL(top, environment: environment)
        let bootstrap = parseBootstrap(top)
        let tags = parseTags(top)
        let ctl = parseCtl(top)
        let log = parseLog(top)
        let mesh = parseMesh(top, scope: scope, superuser: postgresql?.superuser)
        if let mesh { checkOwnZoneDCS(mesh, etcd: etcd, etcd3: etcd3, diagnostics: diagnostics) }
        let watchdog = parseWatchdog(top)
        top.unsupported("consul", "zookeeper", "exhibitor", "kubernetes", "raft", "citus",
                        "thread_pool_size", "thread_stack_size", "standby_cluster")
        top.finish()

        guard diagnostics.issues.isEmpty, let scope, let name, let restapi, let postgresql else { return nil }
        var config = StazConfiguration(scope: scope, name: name, restapi: restapi, postgresql: postgresql)
        if let namespace, !namespace.isEmpty { config.namespace = namespace }
        config.etcd = etcd; config.etcd3 = etcd3
        config.bootstrap = bootstrap; config.tags = tags; config.ctl = ctl; config.log = log
        config.mesh = mesh; config.watchdog = watchdog
        return config
    }

    static func parseRestAPI(_ top: SectionReader) -> RestAPISection? {
        guard let reader = top.section("restapi") else {
            if !top.has("restapi") { top.diagnostics.error("restapi.listen", "missing required key") }
            return nil
        }
        let listen = reader.string("listen", required: true)
        if let listen { validateListenAddress(listen, path: reader.keyPath("listen"), diagnostics: reader.diagnostics) }
        let connect = reader.string("connect_address")
        if let connect { validateListenAddress(connect, path: reader.keyPath("connect_address"), diagnostics: reader.diagnostics) }
        var section = RestAPISection(listen: listen ?? "", connectAddress: connect ?? defaultConnectAddress(fromListen: listen ?? ""))
        (section.username, section.password) = parseCredentials(reader)
        section.certfile = reader.string("certfile")
        section.keyfile = reader.string("keyfile")
        section.cafile = reader.string("cafile")
        if let verify = reader.string("verify_client") {
            if ["none", "optional", "required"].contains(verify.lowercased()) {
                section.verifyClient = verify.lowercased()
            } else {
                reader.diagnostics.error(reader.keyPath("verify_client"), "expected none, optional or required, got '\(verify)'")
            }
        }
        checkClientVerification(section, reader: reader)
        section.allowlist = reader.stringList("allowlist") ?? []
        section.allowlistIncludeMembers = reader.bool("allowlist_include_members") ?? false
        // staz's own keys (Patroni's REST server has no time limits).
        section.idleTimeout = connectionTimeout(reader, "idle_timeout")
        section.requestTimeout = connectionTimeout(reader, "request_timeout")
        section.maxConnections = reader.int("max_connections", min: 1, max: 1_000_000)
        reader.unsupported("keyfile_password", "ciphers", "http_extra_headers", "https_extra_headers",
                           "request_queue_size", "thread_pool_size", "server_tokens")
        reader.finish()
        return listen == nil ? nil : section
    }

    /// `authentication` of `restapi` or `ctl`: both `username` and `password`, or no section.
    /// Half a pair, an empty section or an unknown key is an error: the REST API would
    /// otherwise run without authentication although the file asks for it (Patroni itself
    /// fails on a missing half when it builds `username:password`).
    static func parseCredentials(_ parent: SectionReader) -> (username: String?, password: String?) {
        let key = "authentication"
        parent.accept(key)
        guard let value = parent.object[key] else { return (nil, nil) }
        guard case .object(let object) = value, !object.isEmpty else {
            // The value is not shown: it may well be `user:password`.
            let got = value.isNull || value.objectValue != nil ? "an empty section" : "a \(value.arrayValue != nil ? "list" : "scalar")"
            parent.diagnostics.error(parent.keyPath(key), "expected a mapping with username and password, got \(got)")
            return (nil, nil)
        }
        let auth = SectionReader(path: parent.keyPath(key), object: object, diagnostics: parent.diagnostics)
        let username = auth.string("username"), password = auth.string("password")
        for (present, missing) in [("username", "password"), ("password", "username")]
        where auth.has(present) && !auth.has(missing) {
            auth.diagnostics.error(auth.keyPath(missing), "missing (\(present) is set; both are needed or neither)")
        }
        auth.finishRejectingUnknownKeys()
        guard username != nil, password != nil else { return (nil, nil) }
        return (username, password)
    }

    /// `verify_client` asks for client certificates, which only exist over TLS (`certfile`),
    /// and are only worth something when checked against a CA of the operator's choosing
    /// (`cafile`; without one the server would trust the system's public CAs, or, in
    /// Patroni, no certificate at all). Either gap would leave unsafe requests unprotected.
    static func checkClientVerification(_ section: RestAPISection, reader: SectionReader) {
        guard let mode = section.verifyClient, mode != "none" else { return }
        if (section.certfile ?? "").isEmpty {
            reader.diagnostics.error(reader.keyPath("certfile"), "missing: verify_client \(mode) needs TLS (restapi.certfile)")
        }
        if (section.cafile ?? "").isEmpty {
            reader.diagnostics.error(reader.keyPath("cafile"), "missing: verify_client \(mode) needs the CA that signs client certificates (restapi.cafile)")
        }
    }

    /// A REST connection time limit in seconds: at least 1 (a health check must have time to
    /// arrive on a busy host), at most a day.
    static func connectionTimeout(_ reader: SectionReader, _ key: String) -> Double? {
        guard let seconds = reader.number(key, min: 1) else { return nil }
        if seconds > 86400 {
            reader.diagnostics.error(reader.keyPath(key), "must be at most 86400 (one day), got \(formatNumber(seconds))")
            return nil
        }
        return seconds
    }

    /// `etcd` (v2) and `etcd3` (v3). At least one is required; other Patroni DCS types are not
    /// implemented by staz.
    static func parseDCS(_ top: SectionReader) -> (EtcdSection?, EtcdSection?) {
        let hasEtcd = top.has("etcd"), hasEtcd3 = top.has("etcd3")
        let etcd = hasEtcd ? parseEtcd(top, key: "etcd") : nil
        let etcd3 = hasEtcd3 ? parseEtcd(top, key: "etcd3") : nil
        if !hasEtcd && !hasEtcd3 {
            let others = ["consul", "zookeeper", "exhibitor", "kubernetes", "raft"].filter { top.has($0) }
            let note = others.isEmpty ? "" : " ('\(others.joined(separator: "', '"))' is not supported by staz)"
            top.diagnostics.error("etcd3", "missing required key: one of 'etcd3' or 'etcd' must be configured\(note)")
        }
        return (etcd, etcd3)
    }

    static func parseEtcd(_ top: SectionReader, key: String) -> EtcdSection? {
        guard let reader = top.section(key) else { return nil }
        let diagnostics = reader.diagnostics
        var scheme = "http"
        if let proto = reader.string("protocol") {
            if ["http", "https"].contains(proto.lowercased()) { scheme = proto.lowercased() } else {
                diagnostics.error(reader.keyPath("protocol"), "expected http or https, got '\(proto)'")
            }
        }
        let defaultPort = reader.int("port", min: 1, max: 65535) ?? 2379
        var endpoints: [String] = []
        if let url = reader.string("url") {
            endpoints = [url.contains("://") ? url : "\(scheme)://\(url)"]
        } else if let hosts = reader.stringList("hosts") {
            endpoints = hosts.map { endpoint($0, scheme: scheme, defaultPort: defaultPort) }
            if hosts.isEmpty { diagnostics.error(reader.keyPath("hosts"), "must list at least one host") }
        } else if let host = reader.string("host") {
            endpoints = [endpoint(host, scheme: scheme, defaultPort: defaultPort)]
        } else {
            diagnostics.error(reader.keyPath("host"), "missing required key: one of host, hosts or url must be set")
        }
        reader.accept("host", "hosts", "url")
        for (index, item) in endpoints.enumerated() {
            let hostPort = item.components(separatedBy: "://").last ?? item
            let path = reader.keyPath(reader.has("url") ? "url" : (reader.has("hosts") ? "hosts[\(index)]" : "host"))
            validateListenAddress(String(hostPort.split(separator: "/").first ?? ""), path: path, diagnostics: diagnostics)
        }
        var section = EtcdSection(endpoints: endpoints)
        section.protocolScheme = scheme
        section.username = reader.string("username")
        section.password = reader.string("password")
        section.cacert = reader.string("cacert")
        section.cert = reader.string("cert")
        section.key = reader.string("key")
        reader.unsupported("proxy", "srv", "srv_suffix", "use_proxies", "key_password", "verify")
        reader.finish()
        return section
    }

    private static func endpoint(_ host: String, scheme: String, defaultPort: Int) -> String {
        if host.contains("://") { return host }
        let (h, port) = splitHostPort(host, defaultPort: defaultPort)
        let bracketed = h.contains(":") ? "[\(h)]" : h
        return "\(scheme)://\(bracketed):\(port ?? String(defaultPort))"
    }

    /// Tags; custom tags are allowed, so nothing here is "unknown".
    static func parseTags(_ top: SectionReader) -> TagsSection {
        var tags = TagsSection()
        guard let reader = top.section("tags") else { return tags }
        tags.raw = reader.object
        let noFailover = reader.bool("nofailover")
        let priority = reader.int("failover_priority", min: 0)
        tags.noLoadBalance = reader.bool("noloadbalance") ?? false
        tags.cloneFrom = reader.bool("clonefrom") ?? false
        let noSync = reader.bool("nosync")
        tags.noSync = noSync ?? false
        tags.noStream = reader.bool("nostream") ?? false
        tags.syncPriority = reader.int("sync_priority", min: 0)
        tags.replicateFrom = reader.string("replicatefrom")
        // Patroni (`Config._validate_contradictory_tags`): the boolean tag, when written, takes
        // precedence; a priority that says the opposite (true and > 0, false and <= 0) only
        // earns a warning.
        func warnIfContradicting(_ flag: String, _ value: Bool?, _ priorityKey: String, _ priority: Int?) {
            guard let value, let priority, value == (priority > 0) else { return }
            reader.diagnostics.warn(reader.keyPath(priorityKey),
                "Conflicting configuration between \(flag): \(pythonBool(value)) and \(priorityKey): \(priority). Defaulting to \(flag): \(pythonBool(value))")
        }
        warnIfContradicting("nofailover", noFailover, "failover_priority", priority)
        warnIfContradicting("nosync", noSync, "sync_priority", tags.syncPriority)
        tags.noFailover = noFailover ?? ((priority ?? 1) <= 0)
        tags.failoverPriority = noFailover == true ? 0 : (priority ?? 1)
        return tags
    }

    /// Python's spelling, as Patroni's warnings print booleans (tools grep for these lines).
    static func pythonBool(_ value: Bool) -> String { value ? "True" : "False" }

    static func parseCtl(_ top: SectionReader) -> CtlSection {
        var ctl = CtlSection()
        guard let reader = top.section("ctl") else { return ctl }
        (ctl.username, ctl.password) = parseCredentials(reader)
        ctl.insecure = reader.bool("insecure") ?? false
        ctl.cacert = reader.string("cacert")
        ctl.certfile = reader.string("certfile")
        ctl.keyfile = reader.string("keyfile")
        reader.unsupported("keyfile_password")
        reader.finish()
        return ctl
    }
}
