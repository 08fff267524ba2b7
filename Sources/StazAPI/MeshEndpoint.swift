import Foundation
import NIOCore
import Prometheus
import StazCore

/// One gauge sample of the mesh (`staz_mesh_*`), labels in output order.
public struct MeshMetricSample: Sendable, Equatable {
    public var name: String
    public var help: String
    public var labels: [MeshMetricLabel]
    public var value: Double
    public init(name: String, help: String, labels: [MeshMetricLabel], value: Double) {
        self.name = name; self.help = help; self.labels = labels; self.value = value
    }
}

public struct MeshMetricLabel: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// The mesh as this member last saw it: the `GET /mesh` body and its metrics. Filled by the
/// daemon's mesh reconciler; nil when the configuration has no `mesh` section.
public struct MeshStatus: Sendable, Equatable {
    public var json: JSONObject
    public var samples: [MeshMetricSample]
    public init(json: JSONObject, samples: [MeshMetricSample]) { self.json = json; self.samples = samples }
}

/// A validated `POST /mesh/ddl`: `{"command": "...", "database": "..."}` (database optional:
/// the mesh's first).
public struct MeshDDLRequest: Sendable, Equatable {
    public var command: String
    public var database: String?
    public init(command: String, database: String?) { self.command = command; self.database = database }

    public static func validate(_ object: JSONObject) -> Result<MeshDDLRequest, APIResponse> {
        guard let command = object["command"]?.stringValue,
              !command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .failure(.text(400, "'command' (the DDL to replicate) is required"))
        }
        var database: String?
        if let value = object["database"], !value.isNull {
            guard let name = value.stringValue, !name.isEmpty else {
                return .failure(.text(400, "'database' must be a database name"))
            }
            database = name
        }
        if let unknown = object.keys.first(where: { $0 != "command" && $0 != "database" }) {
            return .failure(.text(400, "unknown key '\(unknown)'"))
        }
        return .success(MeshDDLRequest(command: command, database: database))
    }
}

enum MeshEndpoint {
    /// `GET /mesh`: the last report, plus what other parts of staz added (`meshExtras`).
    static func get(_ snapshot: NodeSnapshot) -> APIResponse {
        guard let mesh = snapshot.mesh else { return .text(404, "mesh is not configured on this member") }
        var body = mesh.json
        for (key, value) in snapshot.meshExtras.pairs { body[key] = value }
        return .json(200, JSONValue.object(body))
    }

    /// `POST /mesh/ddl` (unsafe: access checks apply).
    static func post(actions: APIActions) -> Router.AsyncHandler {
        return { target, body in
            guard target.path.split(separator: "/").map(String.init) == ["mesh", "ddl"] else {
                return .text(404, "unknown mesh operation (POST /mesh/ddl runs replicated DDL)")
            }
            switch RequestBody.object(body, optional: false) {
            case .failure(let response): return response
            case .success(let object):
                switch MeshDDLRequest.validate(object) {
                case .failure(let response): return response
                case .success(let request): return await actions.meshDDL(request)
                }
            }
        }
    }

    /// The samples as Prometheus text (a fresh registry per scrape, as for staz's other gauges).
    static func metrics(_ snapshot: NodeSnapshot) -> String {
        let samples = (snapshot.mesh?.samples ?? []) + snapshot.meshIntegritySamples
        guard !samples.isEmpty else { return "" }
        let registry = PrometheusCollectorRegistry()
        let base = [("scope", snapshot.scope), ("name", snapshot.name)]
        for sample in samples {
            let descriptor = MetricNameDescriptor(metricName: sample.name, unitName: "", helpText: sample.help)
            registry.makeGauge(descriptor: descriptor, labels: base + sample.labels.map { ($0.name, $0.value) }).set(sample.value)
        }
        return registry.emitToString()
    }
}
