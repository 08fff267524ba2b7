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
