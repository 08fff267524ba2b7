/// The last view built from raw keys, reused while the keys stay the same.
///
/// An idle cluster's keys change only when a member's record does; the cache behind them is
/// read every cycle. Comparing the keys is far cheaper than parsing every member's JSON again,
/// and `ClusterView.fromKeys` is a pure function of them.
public struct ClusterViewMemo: Sendable {
    private var last: (keys: [String: DCSRawValue], view: ClusterView)?

    public init() {}

    public mutating func view(of keys: [String: DCSRawValue]) -> ClusterView {
        if let last, last.keys == keys { return last.view }
        let view = ClusterView.fromKeys(keys)
        last = (keys, view)
        return view
    }
}
