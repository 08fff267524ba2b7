/// Who a persistent connection to the local server serves. The REST API has its own, as
/// Patroni's has (`RestApiServer.query` in api.py takes the pool's `restapi` connection, not
/// the HA loop's `heartbeat` one): a slow `/patroni` query must neither queue the HA loop's
/// state query behind it nor, when its deadline cuts it off, close the connection the HA loop
/// has a query in flight on.
enum LocalConnectionUser: Hashable, Sendable {
    case haLoop
    case restAPI

    /// `application_name` of the connection, so `pg_stat_activity` tells the two apart.
    func applicationName(base: String) -> String {
        switch self {
        case .haLoop: return base
        case .restAPI: return base + " restapi"
        }
    }
}
