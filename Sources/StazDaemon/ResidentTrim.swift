import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Drops the startup-only pages of clean, read-only file mappings (our binary's code and the
/// Swift runtime libraries) from the resident set once the daemon is up.
///
/// Why: starting a Swift binary touches far more code than the steady state runs (argument
/// parsing, YAML, configuration checks, NIO bootstrap), and the kernel maps 64 KB around every
/// code fault, so the daemon idled with ~14 MB of resident code it never executes again.
///
/// Safety: only mappings that are read-only AND have no private dirty or anonymous page are
/// touched. Such pages are identical to the file, so `MADV_DONTNEED` merely unmaps them and the
/// next access faults them back in from the page cache. Read-only is not enough on its own:
/// RELRO segments (`.data.rel.ro`) are `r--p` after the loader relocated them, and discarding
/// those pages would bring back unrelocated pointers.
enum ResidentTrim {
    struct Mapping: Equatable {
        var start: UInt
        var end: UInt
        var permissions: String
        var path: String
        var privateDirtyKB = 0
        var anonymousKB = 0
        var swapKB = 0

        var isCleanReadOnlyFile: Bool {
            path.hasPrefix("/") && (permissions == "r-xp" || permissions == "r--p")
                && privateDirtyKB == 0 && anonymousKB == 0 && swapKB == 0
        }
    }

    /// Parses `/proc/<pid>/smaps` text.
    static func parseSmaps(_ text: String) -> [Mapping] {
        var mappings: [Mapping] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-"), fields.count >= 5, !first.hasSuffix(":") {
                let bounds = first.split(separator: "-")
                guard bounds.count == 2, let start = UInt(bounds[0], radix: 16),
                      let end = UInt(bounds[1], radix: 16) else { continue }
                let path = fields.count >= 6 ? fields[5...].joined(separator: " ") : ""
                mappings.append(Mapping(start: start, end: end, permissions: String(fields[1]), path: path))
            } else if !mappings.isEmpty, fields.count >= 2, let kb = Int(fields[1]) {
                switch first {
                case "Private_Dirty:": mappings[mappings.count - 1].privateDirtyKB = kb
                case "Anonymous:": mappings[mappings.count - 1].anonymousKB = kb
                case "Swap:": mappings[mappings.count - 1].swapKB = kb
                default: break
                }
            }
        }
        return mappings
    }

    /// Returns the number of bytes of address space advised away.
    static func trimCleanReadOnlyFileMappings() -> Int {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8) else { return 0 }
        var trimmed = 0
        for mapping in parseSmaps(text) where mapping.isCleanReadOnlyFile && mapping.end > mapping.start {
            guard let pointer = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(pointer, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 {
                trimmed += Int(mapping.end - mapping.start)
            }
        }
        return trimmed
        #else
        return 0
        #endif
    }
}
