import StazCore

extension DynamicSettings {
    /// The dynamic settings in force: defaults ← the DCS `config` key (or `bootstrap.dcs` when
    /// the DCS has none yet) ← the local settings Patroni lets override dynamic ones
    /// (`postgresql.use_pg_rewind`, `postgresql.pg_hba`). `ttl`, `loop_wait`, `retry_timeout`
    /// and `postgresql.use_slots` are dynamic-only. Invalid values are reported as warnings and
    /// the default is used; owned PostgreSQL parameters failing validation are dropped.
    /// Finally the timing rule (`applyTimingRule`) is applied.
    public static func resolve(dcsConfig: JSONObject?, bootstrapDCS: JSONObject, local: StazConfiguration) -> (DynamicSettings, [ConfigWarning]) {
        let useDCS = dcsConfig.map { !$0.isEmpty } ?? false
        let source = useDCS ? dcsConfig! : bootstrapDCS
        let path = useDCS ? "config" : "bootstrap.dcs"
        let diagnostics = Diagnostics()
        var settings = DynamicConfigParser.parse(source, path: path, diagnostics: diagnostics, strict: false)
        var warnings = diagnostics.warnings
        warnings += diagnostics.issues.map { ConfigWarning(path: $0.path, message: "\($0.description); using the default") }
        let (parameters, parameterWarnings) = PostgresParameterRules.validatedDynamic(settings.parameters, path: path + ".postgresql.parameters")
        settings.parameters = parameters
        warnings += parameterWarnings
        if let v = local.postgresql.usePgRewind { settings.usePgRewind = v }
        if let v = local.postgresql.pgHBA { settings.pgHBA = v }
        warnings += settings.applyTimingRule()
        return (settings, warnings)
    }

    /// Smallest accepted values. Patroni's floors (ttl 20, retry_timeout 3) are lowered so that
    /// staz can fail over within a few seconds.
    public static let minimumTTL: Double = 4
    public static let minimumLoopWait: Double = 1
    public static let minimumRetryTimeout: Double = 1

    /// staz's timing rule, replacing Patroni's:
    /// 1. `ttl` is raised to at least 4 s, `loop_wait` and `retry_timeout` to at least 1 s.
    /// 2. The leader must be able to renew its lease before it expires even when one cycle's
    ///    DCS call needs a full retry, so `loop_wait + 2 * retry_timeout <= ttl` must hold.
    ///    When it does not, `retry_timeout` is lowered first, to `max(1, (ttl - loop_wait) / 2)`,
    ///    and if that is still not enough `loop_wait` is lowered to `max(1, ttl - 2 * retry_timeout)`.
    /// Every adjustment produces a warning naming the key and both values.
    @discardableResult
    public mutating func applyTimingRule() -> [ConfigWarning] {
        var warnings: [ConfigWarning] = []
        func raise(_ value: inout Double, to minimum: Double, key: String) {
            guard value < minimum else { return }
            warnings.append(ConfigWarning(path: key, message: "\(key)=\(formatNumber(value)) is below the minimum, using \(formatNumber(minimum))"))
            value = minimum
        }
        raise(&ttl, to: Self.minimumTTL, key: "ttl")
        raise(&loopWait, to: Self.minimumLoopWait, key: "loop_wait")
        raise(&retryTimeout, to: Self.minimumRetryTimeout, key: "retry_timeout")
        guard loopWait + 2 * retryTimeout > ttl else { return warnings }
        let original = "loop_wait=\(formatNumber(loopWait)) + 2*retry_timeout=\(formatNumber(retryTimeout)) > ttl=\(formatNumber(ttl))"
        retryTimeout = max(Self.minimumRetryTimeout, (ttl - loopWait) / 2)
        if loopWait + 2 * retryTimeout > ttl {
            loopWait = max(Self.minimumLoopWait, ttl - 2 * retryTimeout)
        }
        warnings.append(ConfigWarning(path: "retry_timeout",
            message: "\(original): using loop_wait=\(formatNumber(loopWait)), retry_timeout=\(formatNumber(retryTimeout))"))
        return warnings
    }
}
