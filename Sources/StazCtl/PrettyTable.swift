/// A port of the parts of Python's `prettytable` that patronictl uses: left/right alignment,
/// padding 1, frame rules (or rules between all rows when a cell spans several lines), and
/// patronictl's custom title written into the top rule (` Cluster: demo (...) `).
public struct PrettyTable {
    public enum Alignment { case left, right }

    public var columns: [String]
    public var rows: [[String]]
    public var alignments: [String: Alignment]
    public var title: String

    public init(columns: [String], rows: [[String]], alignments: [String: Alignment] = [:], title: String = "") {
        self.columns = columns; self.rows = rows; self.alignments = alignments; self.title = title
    }

    public func render() -> String {
        let cellLines = rows.map { $0.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } }
        var widths = columns.map(\.count)
        for row in cellLines {
            for (i, lines) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], lines.map(\.count).max() ?? 0)
            }
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        let ruleBetweenRows = cellLines.contains { $0.contains { $0.count > 1 } }

        var out = [topRule(rule)]
        out.append(line(columns.map { [$0] }, widths: widths))
        out.append(rule)
        for (index, row) in cellLines.enumerated() {
            let height = row.map(\.count).max() ?? 1
            for lineIndex in 0..<height {
                out.append(line(row.map { lineIndex < $0.count ? [$0[lineIndex]] : [""] }, widths: widths))
            }
            if ruleBetweenRows && index < cellLines.count - 1 { out.append(rule) }
        }
        out.append(rule)
        return out.joined(separator: "\n")
    }

    /// patronictl's `__build_header`: the title replaces the start of the top rule, cut to fit.
    private func topRule(_ rule: String) -> String {
        guard !title.isEmpty else { return rule }
        let chars = Array(rule)
        let header = Array(title.prefix(max(0, chars.count - 2)))
        return String(chars[0]) + String(header) + String(chars[min(chars.count, 1 + header.count)...])
    }

    private func line(_ cells: [[String]], widths: [Int]) -> String {
        var text = "|"
        for (i, width) in widths.enumerated() {
            let value = i < cells.count ? cells[i].first ?? "" : ""
            let padding = String(repeating: " ", count: max(0, width - value.count))
            let aligned = alignments[columns[i]] == .right ? padding + value : value + padding
            text += " " + aligned + " |"
        }
        return text
    }
}
