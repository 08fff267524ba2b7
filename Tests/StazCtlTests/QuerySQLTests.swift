import Foundation
import Testing
@testable import StazCtl
import StazCore
import StazPostgres

/// How `stazctl query` splits SQL text the way the simple-query protocol runs it.
struct SQLScriptTests {
    @Test(arguments: [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("  ;; -- only a comment\n ; /* and /* nested */ one */", []),
        ("SELECT 'a;b', \"c;d\", E'\\';', $$x;y$$, $f$ $$; $f$; SELECT 2", ["SELECT 'a;b', \"c;d\", E'\\';', $$x;y$$, $f$ $$; $f$", "SELECT 2"]),
        ("SELECT $1; SELECT a$b FROM t", ["SELECT $1", "SELECT a$b FROM t"]),
        ("SELECT 1 -- c; not a split\n; SELECT 2", ["SELECT 1 -- c; not a split", "SELECT 2"]),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SELECT f()",
         ["CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END", "SELECT f()"]),
        ("SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", "SELECT 2"]),
    ])
    func splitsAtTopLevelSemicolons(_ text: String, _ statements: [String]) {
        #expect(SQLScript(text).statements == statements)
    }

    @Test func onlySeveralStatementsWithoutTransactionControlGetAnImplicitTransaction() {
        #expect(!SQLScript("INSERT INTO t VALUES (1)").needsImplicitTransaction)
        #expect(SQLScript("INSERT INTO t VALUES (1); SELECT 1").needsImplicitTransaction)
        #expect(!SQLScript("BEGIN; INSERT INTO t VALUES (1); COMMIT").needsImplicitTransaction)
        #expect(!SQLScript("/* x */ start transaction; SELECT 1").needsImplicitTransaction)
        #expect(SQLScript("SELECT 'BEGIN'; SELECT 1").needsImplicitTransaction)
    }
}

/// Python's `str()`/`repr()` of what psycopg loads, which patronictl prints.
struct PythonValueTests {
    @Test(arguments: [
        (1.5, "1.5"), (2.0, "2.0"), (1e300, "1e+300"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"), (-0.0, "-0.0"), (123.456, "123.456"),
        (.nan, "nan"), (.infinity, "inf"), (-.infinity, "-inf"), (9007199254740993.0, "9007199254740992.0"),
    ])
    func floats(_ value: Double, _ text: String) {
        #expect(pythonFloatText(value) == text)
    }

    @Test(arguments: [
        ("1.50", "1.50"), ("-12.340", "-12.340"), ("0.0000001", "1E-7"), ("0.000001", "0.000001"),
        ("0.00000000", "0E-8"), ("-0.00000012", "-1.2E-7"), ("100", "100"), ("NaN", "NaN"), ("-Infinity", "-Infinity"),
    ])
    func decimals(_ text: String, _ python: String) {
        #expect(pythonDecimalText(text) == python)
    }

    @Test func containersUseRepr() {
        let value = PythonValue.list([.str("it's"), .none, .bool(true), .dict([("k", .float(1.0))]), .bytes([0, 0x27, 0x41])])
        #expect(value.str == "[\"it's\", None, True, {'k': 1.0}, b\"\\x00'A\"]")
        #expect(PythonValue.str("a\tb\\").repr == "'a\\tb\\\\'")
        #expect(PythonValue.text(str: "1.5", repr: "Decimal('1.5')").json == .string("1.5"))
    }
}

/// Binary cells, as PostgresNIO receives them, loaded as psycopg 3 loads their text.
struct BinaryCellDecoderTests {
    let decoder = BinaryCellDecoder()

    func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    @Test func scalars() {
        #expect(decoder.decode(nil, type: 23).str == "None")
        #expect(decoder.decode([1], type: 16).str == "True")
        #expect(decoder.decode(be(Int32(-7)), type: 23).str == "-7")
        #expect(decoder.decode(be(Int64(12345678901)), type: 20).str == "12345678901")
        #expect(decoder.decode(be(Float(0.1).bitPattern), type: 700).str == "0.1")
        #expect(decoder.decode(be((2.5).bitPattern), type: 701).str == "2.5")
        #expect(decoder.decode(Array("héllo".utf8), type: 25).str == "héllo")
        #expect(decoder.decode(be(UInt64(0x1_0000_0060)), type: 3220).str == "1/60")
        #expect(decoder.decode(Array(repeating: 0xAB, count: 16), type: 2950).str == "abababab-abab-abab-abab-abababababab")
        #expect(decoder.decode([0x00, 0xFF, 0x27], type: 17).str == "b\"\\x00\\xff'\"")
        #expect(decoder.decode([1] + Array("{\"a\": [1, \"b\", null, 1.5]}".utf8), type: 3802).str == "{'a': [1, 'b', None, 1.5]}")
        #expect(decoder.decode(Array("happy".utf8), type: 99_999).str == "happy")  // an enum: binary is its label
        #expect(decoder.decode([0, 1, 2], type: 99_999).str == "\\x000102")
    }

    @Test func numerics() {
        // 12345.6000: two base-10000 groups before the point (weight 1), scale 4.
        let bytes = be(Int16(3)) + be(Int16(1)) + be(UInt16(0)) + be(UInt16(4)) + be(Int16(1)) + be(Int16(2345)) + be(Int16(6000))
        #expect(decoder.decode(bytes, type: 1700).str == "12345.6000")
        let small = be(Int16(1)) + be(Int16(-2)) + be(UInt16(0x4000)) + be(UInt16(7)) + be(Int16(10))
        #expect(decoder.decode(small, type: 1700).str == "-1E-7")
        #expect(decoder.decode(be(Int16(0)) + be(Int16(0)) + be(UInt16(0xC000)) + be(UInt16(0)), type: 1700).str == "NaN")
    }

    @Test func datesAndTimes() {
        let micros: Int64 = ((7_640 * 86_400) + 3 * 3600 + 4 * 60 + 5) * 1_000_000 + 678_000  // 2020-12-01 03:04:05.678
        #expect(decoder.decode(be(micros), type: 1114).str == "2020-12-01 03:04:05.678000")
        #expect(decoder.decode(be(micros), type: 1184).str == "2020-12-01 03:04:05.678000+00:00")
        var paris = decoder
        paris.timeZone = TimeZone(identifier: "Europe/Paris")!
        #expect(paris.decode(be(micros), type: 1184).str == "2020-12-01 04:04:05.678000+01:00")
        #expect(decoder.decode(be(Int32(-1)), type: 1082).str == "1999-12-31")
        #expect(decoder.decode(be(Int64(43_201_500_000)), type: 1083).str == "12:00:01.500000")
        #expect(decoder.decode(be(Int64(0)) + be(Int32(-7200)), type: 1266).str == "00:00:00+02:00")
        #expect(decoder.decode(be(Int64.max), type: 1184).str == "infinity")
    }

    @Test(arguments: [
        (Int64(7_384_500_000), Int32(1), Int32(0), "1 day, 2:03:04.500000"),
        (Int64(-3_600_000_000), Int32(0), Int32(0), "-1 day, 23:00:00"),
        (Int64(0), Int32(3), Int32(14), "428 days, 0:00:00"),
        (Int64(1_000_000), Int32(0), Int32(0), "0:00:01"),
    ])
    func intervals(_ micros: Int64, _ days: Int32, _ months: Int32, _ text: String) {
        #expect(decoder.decode(be(micros) + be(days) + be(months), type: 1186).str == text)
    }

    @Test func arraysAndAddresses() {
        let texts = be(Int32(1)) + be(Int32(1)) + be(UInt32(25)) + be(Int32(2)) + be(Int32(1))
            + be(Int32(1)) + Array("x".utf8) + be(Int32(-1))
        #expect(decoder.decode(texts, type: 1009).str == "['x', None]")
        let matrix = be(Int32(2)) + be(Int32(0)) + be(UInt32(23)) + be(Int32(2)) + be(Int32(1)) + be(Int32(1)) + be(Int32(1))
            + be(Int32(4)) + be(Int32(1)) + be(Int32(4)) + be(Int32(2))
        #expect(decoder.decode(matrix, type: 1007).str == "[[1], [2]]")
        #expect(decoder.decode([2, 32, 0, 4, 10, 0, 0, 1], type: 869).str == "10.0.0.1")
        #expect(decoder.decode([2, 24, 0, 4, 10, 0, 0, 1], type: 869).str == "10.0.0.1/24")
        #expect(decoder.decode([2, 8, 1, 4, 10, 0, 0, 0], type: 650).str == "10.0.0.0/8")
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 10) + [0, 1]
        #expect(decoder.decode([3, 64, 0, 16] + v6, type: 869).str == "2001:db8::1/64")
        #expect(decoder.decode(be(Int32(1)) + be(Int32(0)) + be(UInt32(26)) + be(Int32(2)) + be(Int32(0))
                               + be(Int32(4)) + be(UInt32(23)) + be(Int32(4)) + be(UInt32(25)), type: 30).str == "23 25")
    }
}

/// libpq's defaults for what `stazctl query`'s options leave out.
struct LibpqDefaultsTests {
    func defaults(_ environment: [String: String], pgpass: String? = nil, open: Bool = false) -> LibpqDefaults {
        LibpqDefaults(environment: environment, home: "/home/dba", osUser: "dba",
                      readFile: { $0 == (environment["PGPASSFILE"] ?? "/home/dba/.pgpass") ? pgpass : nil },
                      isGroupOrWorldReadable: { _ in open })
    }

    @Test func userAndDatabase() {
        #expect(defaults([:]).user(nil) == "dba")
        #expect(defaults(["PGUSER": "app"]).user(nil) == "app")
        #expect(defaults(["PGUSER": "app"]).user("given") == "given")
        #expect(defaults([:]).database(nil, user: "app") == "app")
        #expect(defaults(["PGDATABASE": "db"]).database(nil, user: "app") == "db")
    }

    @Test func passwords() {
        let file = "# comment\n127.0.0.1:5433:*:app:first\n*:*:*:app:fallback\n*:*:*:we\\:ird:pa\\:ss\n"
        let d = defaults([:], pgpass: file)
        #expect(d.password(nil, host: "127.0.0.1", port: 5433, database: "x", user: "app") == "first")
        #expect(d.password(nil, host: "127.0.0.1", port: 5434, database: "x", user: "app") == "fallback")
        #expect(d.password(nil, host: "h", port: 1, database: "x", user: "we:ird") == "pa:ss")
        #expect(d.password(nil, host: "h", port: 1, database: "x", user: "other") == nil)
        #expect(d.password("typed", host: "h", port: 1, database: "x", user: "app") == "typed")
        #expect(defaults(["PGPASSWORD": "env"], pgpass: file).password(nil, host: "h", port: 1, database: "x", user: "app") == "env")
        #expect(defaults([:], pgpass: file, open: true).password(nil, host: "h", port: 1, database: "x", user: "app") == nil)
        #expect(defaults(["PGPASSFILE": "/etc/pass"], pgpass: "*:*:*:*:s").password(nil, host: "h", port: 1, database: "x", user: "u") == "s")
    }

    @Test func tlsFromTheEnvironment() {
        #expect(defaults([:]).security(user: "u").mode == .prefer)
        let security = defaults(["PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/ca.pem"]).security(user: "u")
        #expect(security.mode == .require(.full) && security.rootCertificate == "/ca.pem")
    }
}
