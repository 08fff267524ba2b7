import Foundation

/// A port of Python's `difflib.SequenceMatcher` (no junk function, autojunk on) and
/// `difflib.unified_diff`, so that `edit-config` shows the same hunks as patronictl.
struct SequenceMatcher {
    typealias Opcode = (tag: String, i1: Int, i2: Int, j1: Int, j2: Int)
    let a: [String], b: [String]
    private var b2j: [String: [Int]] = [:]

    init(_ a: [String], _ b: [String]) {
        self.a = a; self.b = b
        for (index, element) in b.enumerated() { b2j[element, default: []].append(index) }
        // autojunk: in long sequences, elements making up more than 1% are "popular" and
        // are not used to seed matches.
        if b.count >= 200 {
            let limit = b.count / 100 + 1
            for (element, indices) in b2j where indices.count > limit { b2j[element] = nil }
        }
    }

    func findLongestMatch(_ alo: Int, _ ahi: Int, _ blo: Int, _ bhi: Int) -> (Int, Int, Int) {
        var (besti, bestj, bestsize) = (alo, blo, 0)
        var j2len: [Int: Int] = [:]
        for i in alo..<ahi {
            var newj2len: [Int: Int] = [:]
            for j in b2j[a[i]] ?? [] {
                if j < blo { continue }
                if j >= bhi { break }
                let k = (j2len[j - 1] ?? 0) + 1
                newj2len[j] = k
                if k > bestsize { (besti, bestj, bestsize) = (i - k + 1, j - k + 1, k) }
            }
            j2len = newj2len
        }
        while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
            (besti, bestj, bestsize) = (besti - 1, bestj - 1, bestsize + 1)
        }
        while besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b[bestj + bestsize] {
            bestsize += 1
        }
        return (besti, bestj, bestsize)
    }

    func matchingBlocks() -> [(Int, Int, Int)] {
        var queue = [(0, a.count, 0, b.count)]
        var blocks: [(Int, Int, Int)] = []
        while let (alo, ahi, blo, bhi) = queue.popLast() {
            let (i, j, k) = findLongestMatch(alo, ahi, blo, bhi)
            guard k > 0 else { continue }
            blocks.append((i, j, k))
            if alo < i && blo < j { queue.append((alo, i, blo, j)) }
            if i + k < ahi && j + k < bhi { queue.append((i + k, ahi, j + k, bhi)) }
        }
        blocks.sort { $0.0 != $1.0 ? $0.0 < $1.0 : ($0.1 != $1.1 ? $0.1 < $1.1 : $0.2 < $1.2) }
        var collapsed: [(Int, Int, Int)] = []
        var (i1, j1, k1) = (0, 0, 0)
        for (i2, j2, k2) in blocks {
            if i1 + k1 == i2 && j1 + k1 == j2 {
                k1 += k2
            } else {
                if k1 > 0 { collapsed.append((i1, j1, k1)) }
                (i1, j1, k1) = (i2, j2, k2)
            }
        }
        if k1 > 0 { collapsed.append((i1, j1, k1)) }
        collapsed.append((a.count, b.count, 0))
        return collapsed
    }

    func opcodes() -> [Opcode] {
        var (i, j) = (0, 0)
        var answer: [Opcode] = []
        for (ai, bj, size) in matchingBlocks() {
            let tag = i < ai && j < bj ? "replace" : i < ai ? "delete" : j < bj ? "insert" : ""
            if !tag.isEmpty { answer.append((tag, i, ai, j, bj)) }
            (i, j) = (ai + size, bj + size)
            if size > 0 { answer.append(("equal", ai, i, bj, j)) }
        }
        return answer
    }

    func groupedOpcodes(context n: Int = 3) -> [[Opcode]] {
        var codes = opcodes()
        if codes.isEmpty { codes = [("equal", 0, 1, 0, 1)] }
        if codes[0].tag == "equal" {
            let c = codes[0]
            codes[0] = (c.tag, max(c.i1, c.i2 - n), c.i2, max(c.j1, c.j2 - n), c.j2)
        }
        if codes[codes.count - 1].tag == "equal" {
            let c = codes[codes.count - 1]
            codes[codes.count - 1] = (c.tag, c.i1, min(c.i2, c.i1 + n), c.j1, min(c.j2, c.j1 + n))
        }
        var groups: [[Opcode]] = []
        var group: [Opcode] = []
        for var code in codes {
            if code.tag == "equal" && code.i2 - code.i1 > 2 * n {
                group.append((code.tag, code.i1, min(code.i2, code.i1 + n), code.j1, min(code.j2, code.j1 + n)))
                groups.append(group)
                group = []
                code.i1 = max(code.i1, code.i2 - n)
                code.j1 = max(code.j1, code.j2 - n)
            }
            group.append(code)
        }
        if !group.isEmpty && !(group.count == 1 && group[0].tag == "equal") { groups.append(group) }
        return groups
    }
}

/// patronictl's `show_diff` output (not a TTY): `difflib.unified_diff` of the two texts split
/// into lines, each line printed without its newline. Returns the printed lines.
public func unifiedDiffLines(before: String, after: String) -> [String] {
    func lines(_ text: String) -> [String] {
        var trimmed = Substring(text)
        while trimmed.hasSuffix("\n") { trimmed = trimmed.dropLast() }
        return String(trimmed).components(separatedBy: "\n")
    }
    let a = lines(before), b = lines(after)
    func range(_ start: Int, _ stop: Int) -> String {
        let length = stop - start
        if length == 1 { return "\(start + 1)" }
        return "\(length == 0 ? start : start + 1),\(length)"
    }
    var out: [String] = []
    for group in SequenceMatcher(a, b).groupedOpcodes() {
        if out.isEmpty { out += ["--- ", "+++ "] }
        out.append("@@ -\(range(group[0].i1, group[group.count - 1].i2)) +\(range(group[0].j1, group[group.count - 1].j2)) @@")
        for code in group {
            if code.tag == "equal" { out += a[code.i1..<code.i2].map { " " + $0 }; continue }
            if code.tag == "replace" || code.tag == "delete" { out += a[code.i1..<code.i2].map { "-" + $0 } }
            if code.tag == "replace" || code.tag == "insert" { out += b[code.j1..<code.j2].map { "+" + $0 } }
        }
    }
    return out
}
