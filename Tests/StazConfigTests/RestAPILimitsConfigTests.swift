import Foundation
import Testing
import StazCore
@testable import StazConfig

/// staz's own `restapi` keys bounding REST connections.
@Suite struct RestAPILimitsConfigTests {
    @Test func absentKeysLeaveTheServerDefaults() throws {
        let (config, warnings) = try ConfigLoader.parse(try sampleRaw(), environment: ["HOME": "/home/test"])
        #expect(config.restapi.idleTimeout == nil)
        #expect(config.restapi.requestTimeout == nil)
        #expect(config.restapi.maxConnections == nil)
        #expect(!warnings.contains { $0.description.contains("timeout") })
    }

    @Test func timeoutsAreRead() throws {
        var raw = setting("restapi.idle_timeout", to: 120, in: try sampleRaw())
        raw = setting("restapi.request_timeout", to: "2.5", in: raw)
        let (config, warnings) = try ConfigLoader.parse(raw, environment: ["HOME": "/home/test"])
        #expect(config.restapi.idleTimeout == 120)
        #expect(config.restapi.requestTimeout == 2.5)
        #expect(!warnings.contains { $0.description.contains("timeout") }, "known keys, no warning")
    }

    @Test(arguments: [
        ("restapi.idle_timeout", "soon", "expected a number"),
        ("restapi.idle_timeout", 0, "at least 1"),
        ("restapi.idle_timeout", 100000, "at most 86400"),
        ("restapi.request_timeout", -3, "at least 1"),
        ("restapi.request_timeout", ["a"], "expected a number"),
    ] as [(String, JSONValue, String)])
    func invalidValuesNameTheKey(key: String, value: JSONValue, fragment: String) throws {
        let error = try #require(configError(setting(key, to: value, in: try sampleRaw())))
        let issue = error.issues.first { $0.path == key }
        #expect(issue?.message.contains(fragment) == true, "\(error.description)")
    }
}

extension RestAPILimitsConfigTests {
    @Test func maxConnectionsIsRead() throws {
        let raw = setting("restapi.max_connections", to: 64, in: try sampleRaw())
        let (config, _) = try ConfigLoader.parse(raw, environment: ["HOME": "/home/test"])
        #expect(config.restapi.maxConnections == 64)
    }

    @Test(arguments: [
        ("restapi.max_connections", "many", "expected an integer"),
        ("restapi.max_connections", 0, "at least 1"),
        ("restapi.max_connections", 2_000_000, "at most 1000000"),
    ] as [(String, JSONValue, String)])
    func invalidMaxConnectionsNamesTheKey(key: String, value: JSONValue, fragment: String) throws {
        let error = try #require(configError(setting(key, to: value, in: try sampleRaw())))
        let issue = error.issues.first { $0.path == key }
        #expect(issue?.message.contains(fragment) == true, "\(error.description)")
    }
}
