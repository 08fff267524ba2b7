import Foundation
import Testing
import StazCore
@testable import StazConfig

/// A configuration that is not valid YAML is reported by position and reason only: no text of
/// the file (which holds passwords) is ever part of the message.
@Suite struct YAMLErrorTests {
    static let secret = "hunter2-secret"

    /// (document, expected position, fragment of the reason)
    @Test(arguments: [
        ("scope: batman\nrestapi:\n  authentication:\n    username: admin\n    password: \(secret)\n    password: \(secret)\n",
         "line 5, column 5", "appears again later in the same mapping"),
        ("scope: a\npostgresql:\n  password: \(secret)\nname: n\nscope: b\nname: m\n",
         "line 4, column 1", "(as do 1 other keys of the same mapping)"),
        ("restapi:\n  password: [\(secret)\n", "line 3, column 1", "did not find expected ',' or ']'"),
        ("restapi:\n  password: \(secret)\n username: u\n", "line 3, column 2", "did not find expected key"),
        ("restapi:\n  password: \"\(secret)\n", "line 3, column 1", "while scanning a quoted scalar at line 2, column 13"),
        ("restapi:\n  password: \(secret)\u{01}\n", "line 2, column 27", "control characters are not allowed"),
        ("a: 1\n---\npassword: \(secret)\n", "line 2, column 1", "but found another document"),
    ])
    func syntaxErrorShowsPositionNotText(yaml: String, position: String, fragment: String) throws {
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(yaml: yaml) }
        let message = error.description
        #expect(message.contains("invalid YAML: \(position): "), "\(message)")
        #expect(message.contains(fragment), "\(message)")
        #expect(!message.contains(Self.secret), "\(message)")
        #expect(!message.contains("password") && !message.contains("restapi") && !message.contains("\n"), "\(message)")
    }

    /// The `--validate-config` output for a file with a duplicated key: one line, no file text.
    @Test func validateDoesNotEchoTheFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/dup.yml"
        let yaml = patroniSampleYAML.replacingOccurrences(of: "    password: password\n",
                                                          with: "    password: \(Self.secret)\n    password: \(Self.secret)\n")
        #expect(yaml != patroniSampleYAML)
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let lines = ConfigLoader.validate(path: file, environment: [:])
        #expect(lines == ["error: \(file): invalid YAML: line 10, column 5: this key appears again later in the same mapping"])
    }
}
