import Foundation
import Testing
@testable import StazCore

@Suite struct JSONCodecTests {
    @Test(arguments: [
        #"{"b":1,"a":[true,false,null,1.5,-2,"x"],"c":{"z":{},"y":[]}}"#,
        #"{"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"primary","version":"4.1.5","xlog_location":50331968,"timeline":1}"#,
        #"[[1,25165984,"no recovery target specified","2024-01-01T00:00:00.000000+00:00","n1"]]"#,
        #"{"leader":"a","sync_standby":null,"quorum":0}"#,
        #""\u00e9\"\\\n\t""#,
        "{}", "[]", "0", "null",
    ])
    func roundTripIsByteIdentical(text: String) throws {
        #expect(try JSONValue.parse(text).compactString == text)
    }

    @Test func keyOrderIsKept() throws {
        let value = try JSONValue.parse(#"{ "zeta": 1, "alpha": 2, "mid": 3 }"#)
        #expect(value.objectValue?.keys == ["zeta", "alpha", "mid"])
        #expect(value.compactString == #"{"zeta":1,"alpha":2,"mid":3}"#)
    }

    @Test(arguments: [
        ("é", #""\u00e9""#),
        ("日本", #""\u65e5\u672c""#),
        ("😀", #""\ud83d\ude00""#),
        ("\u{01}", #""\u0001""#),
        ("\u{7F}", #""\u007f""#),
        ("a/b", #""a/b""#),
        ("tab\there", #""tab\there""#),
        ("\u{08}\u{0C}\r", #""\b\f\r""#),
    ])
    func pythonCompatibleEscaping(input: String, expected: String) throws {
        let encoded = JSONValue.string(input).compactString
        #expect(encoded == expected)
        #expect(try JSONValue.parse(encoded) == .string(input))
    }

    @Test func numbersKeepTheirKind() throws {
        #expect(try JSONValue.parse("3") == .int(3))
        #expect(try JSONValue.parse("3.0") == .double(3))
        #expect(JSONValue.double(3).compactString == "3.0", "Python writes floats with a decimal point")
        #expect(JSONValue.double(0.25).compactString == "0.25")
        #expect(try JSONValue.parse("-9223372036854775808") == .int(.min))
    }

    @Test(arguments: ["", "{", #"{"a" 1}"#, "[1,]", "tru", #""\x""#, "{} x", "01x"])
    func malformedInputThrows(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func lenientAccessors() {
        #expect(JSONValue.string("42").intValue == 42)
        #expect(JSONValue.string(" 42 ").intValue == 42)
        #expect(JSONValue.string("-7").intValue == -7)
        #expect(JSONValue.string("4 2").intValue == nil)
        #expect(JSONValue.double(7).intValue == 7)
        #expect(JSONValue.double(7.5).intValue == nil)
        #expect(JSONValue.string("on").boolValue == true)
        #expect(JSONValue.string("No").boolValue == false)
        #expect(JSONValue.string("maybe").boolValue == nil)
        #expect(JSONValue.string(" Yes\t").boolValue == true, "spaces and tabs around are trimmed")
        #expect(JSONValue.string("\toff").boolValue == false)
        #expect(JSONValue.string(" maybe ").boolValue == nil)
        #expect(JSONValue.string("").boolValue == nil)
        #expect(JSONValue.int(0).boolValue == false)
    }

    @Test func objectSubscriptReplacesInPlaceAndRemoves() {
        var o = JSONObject([("a", 1), ("b", 2)])
        o["a"] = 3
        o["c"] = 4
        o["b"] = nil
        #expect(o.keys == ["a", "c"])
        #expect(JSONValue.object(o).compactString == #"{"a":3,"c":4}"#)
    }
}

@Suite struct LSNAndNamesTests {
    @Test(arguments: [
        ("0/0", UInt64(0)), ("16/B374D848", 0x16_B374_D848), ("0/3000060", 0x3000060), ("FFFFFFFF/FFFFFFFF", UInt64.max),
    ])
    func lsnTextAndInteger(text: String, value: UInt64) throws {
        let lsn = try #require(LSN(text: text))
        #expect(lsn.value == value)
        #expect(lsn.description == text)
        #expect(LSN(value).description == text)
    }

    @Test func lsnParsingIsCaseInsensitiveAndStrict() {
        #expect(LSN(text: "16/b374d848")?.value == 0x16_B374_D848)
        for bad in ["", "16", "16/", "/1", "1/2/3", "xyz/1", "123456789/0"] { #expect(LSN(text: bad) == nil, "\(bad)") }
    }

    @Test func lsnArithmetic() {
        #expect(LSN(100).bytesAhead(of: LSN(40)) == 60)
        #expect(LSN(40).bytesAhead(of: LSN(100)) == 0)
        #expect(LSN(1) < LSN(2))
    }

    @Test(arguments: [
        ("postgresql-0", "postgresql_0"), ("Ab.c", "ab_c"), ("é", "u0233"), ("node_1", "node_1"), ("a b", "au0032b"),
        (String(repeating: "x", count: 70), String(repeating: "x", count: 63)),
    ])
    func slotNames(member: String, slot: String) {
        #expect(slotName(forMember: member) == slot)
    }

    @Test(arguments: [("/service/", "batman", "/service/batman/"), ("/service", "batman", "/service/batman/"),
                      ("service", "b", "/service/b/"), ("/a//b/", "c", "/a/b/c/")])
    func clusterPrefix(namespace: String, scope: String, expected: String) {
        #expect(DCSKey.clusterPrefix(namespace: namespace, scope: scope) == expected)
    }
}
