import StazCore

/// `-f/--format` of patronictl (`topology` is the `topology` command's own style).
public enum OutputFormat: String, CaseIterable, Sendable {
    case pretty, tsv, json, yaml, yml, topology
}

/// patronictl's `print_output`: renders columns and rows in the chosen format. Returns the
/// text including the final newline `click.echo` adds.
public func renderOutput(columns: [String], rows: [[JSONValue]], rightAligned: Set<String>,
                         format: OutputFormat, header: String = "") -> String {
    switch format {
    case .json, .yaml, .yml:
        let elements: [JSONValue] = rows.map { row in
            var object = JSONObject()
            for (column, value) in zip(columns, row) where header.isEmpty || !pythonStr(value).isEmpty {
                object[column] = value
            }
            return .object(object)
        }
        if format == .json { return JSONValue.array(elements).pythonJSONString + "\n" }
        return pythonYAML(.array(elements)) + "\n"
    case .pretty, .tsv, .topology:
        var columns = columns
        var rows = rows
        let listCluster = !header.isEmpty && columns.first == "Cluster"
        if listCluster, let tagsIndex = columns.firstIndex(of: "Tags") {
            for r in rows.indices where pythonTruthy(rows[r][tagsIndex]) {
                // Tags as YAML: block style in pretty tables, flow style (JSON-like) otherwise.
                let yaml = pythonYAML(rows[r][tagsIndex], flow: format != .pretty)
                rows[r][tagsIndex] = .string(yaml.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        if listCluster && format != .tsv {
            columns.removeFirst()
            rows = rows.map { Array($0.dropFirst()) }
        }
        if format == .tsv {
            return (([columns.map { JSONValue.string($0) }] + rows).map { $0.map(pythonStr).joined(separator: "\t") })
                .map { $0 + "\n" }.joined()
        }
        let table = PrettyTable(columns: columns, rows: rows.map { $0.map(pythonStr) },
                                alignments: Dictionary(uniqueKeysWithValues: rightAligned.map { ($0, .right) }),
                                title: header)
        return table.render() + "\n"
    }
}

/// Python's `str()` of a JSON-ish value, as used when printing table cells.
func pythonStr(_ value: JSONValue) -> String { value.pythonStr }

/// Python truthiness of a JSON-ish value.
