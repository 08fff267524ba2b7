import StazCore

/// The member list of Patroni's `cluster_as_json`, which `patronictl list` formats.
func clusterMembersJSON(_ cluster: ClusterView) -> (members: [JSONObject], paused: Bool) {
    let json = clusterAsJSON(cluster)
    let members = (json["members"]?.arrayValue ?? []).compactMap(\.objectValue)
    return (members, json["pause"]?.boolValue ?? false)
}

/// patronictl's `topology_sort`: leader first, then replicas depth-first under the member
/// named by their `replicatefrom` tag (if that is another replica), names indented `+ `.
func topologySorted(_ members: [JSONObject]) -> [JSONObject] {
    func isLeader(_ m: JSONObject) -> Bool { (m["role"]?.stringValue ?? "").hasSuffix("leader") }
    let leaderName = members.first(where: isLeader)?["name"]?.stringValue
    let replicas = Set(members.filter { !isLeader($0) }.compactMap { $0["name"]?.stringValue })
    var children: [String?: [JSONObject]] = [:]
    for m in members where !isLeader(m) {
        let parent = m["tags"]?["replicatefrom"]?.stringValue
        let name = m["name"]?.stringValue
        let key = parent.flatMap { $0 != name && replicas.contains($0) ? $0 : nil } ?? leaderName
        children[key, default: []].append(m)
    }
    var out: [JSONObject] = []
    func visit(_ member: JSONObject?, name: String?, level: Int) {
        let kids = children[name] ?? []
        if var member {
            if level > 0 {
                member["name"] = .string(String(repeating: " ", count: (level - 1) * 2) + "+ " + (name ?? ""))
            }
            out.append(member)
        }
        for kid in kids { visit(kid, name: kid["name"]?.stringValue, level: level + 1) }
    }
    visit(members.first(where: isLeader), name: leaderName, level: 0)
    return out
}
