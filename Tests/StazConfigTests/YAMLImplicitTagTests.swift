import Testing
import StazCore
import Yams
@testable import StazConfig

/// `YAMLImplicitTag` must give every plain scalar the tag Yams' default (regex) rules give it,
/// since those rules are what configurations were read with before.
@Suite struct YAMLImplicitTagTests {
    static func yamsTag(_ text: String) -> YAMLImplicitTag {
        switch Resolver.default.resolveTag(of: .scalar(.init(text, Tag(.implicit), .plain))) {
        case .bool: return .bool
        case .int: return .int
        case .float: return .float
        case .merge: return .merge
        case .null: return .null
        case .timestamp: return .timestamp
        case .value: return .value
        default: return .str
        }
    }

    static let curated = [
        "", "~", "null", "Null", "NULL", "nULL", "yes", "Yes", "YES", "yES", "no", "on", "ON", "off", "Off", "y", "n",
        "true", "True", "TRUE", "tRUE", "false", "0", "-0", "+0", "00", "0_", "07", "08", "0o7", "0o8", "0o", "0b", "0b101",
        "0b2", "0x", "0x1F", "0x1g", "-0x_F", "12", "1_000", "+12", "-12", "1:30", "1:60", "1:5:07", "190:20:30", "0:30",
        "1:", "1::2", "1.5", "1.", "1.e5", "1e5", "1e+5", "1E-5", "1e", ".5", "._", ".5e5", ".5e+5", "-.5", ".", "..",
        "1:30.5", "1:30", "1:30.", "-1:30.5_", ".inf", "-.inf", "+.Inf", ".INF", ".nan", ".NaN", "-.nan", ".Nan",
        "<<", "<", "=", "==", "2001-12-14", "2001-1-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
        "2001-12-14 21:59:43.10", "2001-12-14T21:59:43Z", "2001-12-14T21:59:43 Z", "2001-12-14T21:59:43+5:00",
        "2001-12-14T21:59:43+05:0", "2001-12-14T21:59:4", "2001-12-14T21:59:433", "2001-12-14T1:59:43.", "2001-12-14\t\t1:02:03",
        "2001-12-1", "20011-12-14", "2001-123-14", "2001-12-14T21:59:43.1Z ", "5432", "on_off", "1_:3", "+", "-",
    ]

    @Test(arguments: curated)
    func curatedScalarsResolveAsYamsDoes(_ text: String) {
        #expect(YAMLImplicitTag(plain: text) == Self.yamsTag(text), "\(text)")
    }

    /// Random strings over the characters the rules look at (a fixed seed: a failure can be replayed).
    @Test func randomScalarsResolveAsYamsDoes() {
        let alphabet = Array("0123456789_+-.:eExXoObBaAfFtTZ nNiI~<=\t")
        var generator = SplitMix64(seed: 20261207)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 12)
            var text = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            if generator.next() % 4 == 0 { text = "2001-12-14" + text }
            if YAMLImplicitTag(plain: text) != Self.yamsTag(text) { mismatches.append(text) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }

    /// The conversion, with and without a `!` in the document (which takes Yams' resolver, so an
    /// explicit tag keeps its meaning).
    @Test func documentsConvertAlike() throws {
        let body = "a: on\nb: 0x1F\nc: 'on'\nd: ~\ne: 1:30\nf: 1.5e3\ng: .inf\nh: 2001-12-14\ni: |\n  5\nj: 017\nk: [yes, \"no\", 3]\n"
        let plain = try YAMLConversion.parse(body)
        let tagged = try YAMLConversion.parse(body + "z: !!str 5\n")
        #expect(plain == .object(JSONObject([
            ("a", .bool(true)), ("b", .int(31)), ("c", .string("on")), ("d", .null), ("e", .int(90)), ("f", .double(1500)),
            ("g", .double(.infinity)), ("h", .string("2001-12-14")), ("i", .string("5\n")), ("j", .int(15)),
            ("k", .array([.bool(true), .string("no"), .int(3)])),
        ])))
        guard case .object(var withoutZ) = tagged else { Issue.record("not an object"); return }
        #expect(withoutZ["z"] == .string("5"))
        withoutZ["z"] = nil
        #expect(JSONValue.object(withoutZ) == plain)
        #expect(try YAMLConversion.parse("base: &b {x: 1}\nnew:\n  <<: *b\n  y: 2\n") ==
                .object(JSONObject([("base", .object(JSONObject([("x", .int(1))]))),
                                    ("new", .object(JSONObject([("x", .int(1)), ("y", .int(2))])))])))
    }
}
