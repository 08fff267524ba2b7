import Foundation

/// A throw-away CA with a server certificate (127.0.0.1 / localhost), a client certificate and
/// an encrypted copy of the server key (password `keysecret`), made with the openssl CLI.
struct TestCertificates {
    let directory: String
    var ca: String { directory + "/ca.crt" }
    var serverCert: String { directory + "/server.crt" }
    var serverKey: String { directory + "/server.key" }
    var encryptedServerKey: String { directory + "/server-encrypted.key" }
    var clientCert: String { directory + "/client.crt" }
    var clientKey: String { directory + "/client.key" }
    /// Self-signed with the client key: not issued by the CA.
    var rogueClientCert: String { directory + "/rogue.crt" }

    static let script = """
    set -e
    cd "$1"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
    key ca.key
    openssl req -x509 -new -key ca.key -out ca.crt -subj /CN=staz-test-ca -days 2
    key server.key
    openssl req -new -key server.key -out server.csr -subj /CN=127.0.0.1
    printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n" > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null
    key client.key
    openssl req -new -key client.key -out client.csr -subj /CN=staz-client
    printf "extendedKeyUsage=clientAuth\\n" > client.ext
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext 2>/dev/null
    openssl req -x509 -new -key client.key -out rogue.crt -subj /CN=rogue -days 2
    openssl pkey -in server.key -aes256 -passout pass:keysecret -out server-encrypted.key
    """

    static func make() async throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "staz-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let result = try await Subprocess.run("/bin/bash", ["-c", script, "gen", directory])
        guard result.status == 0 else { throw Subprocess.Failure.failed("openssl: \(result.output)") }
        return TestCertificates(directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Runs a command without blocking a concurrency thread (the server under test needs them).
enum Subprocess {
    enum Failure: Error { case failed(String) }

    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        return try await withCheckedThrowingContinuation { continuation in
            // Read on a separate thread so a full pipe cannot stall the child.
            Thread {
                do {
                    try process.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }
}

/// One curl call: `status` 0 when no HTTP answer came (TLS refused, connection failed).
struct CurlResult {
    var exitCode: Int32
    var status: Int
    var body: String
    var headers: String
}

func curl(_ method: String, _ url: String, _ options: [String] = []) async throws -> CurlResult {
    let marker = "\n--STATUS--"
    let headerFile = NSTemporaryDirectory() + "staz-curl-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: headerFile) }
    let result = try await Subprocess.run("/usr/bin/curl", ["-sS", "--max-time", "5", "-X", method, "-D", headerFile,
                                                             "-w", marker + "%{http_code}"] + options + [url])
    var body = result.output
    var status = 0
    if let range = body.range(of: marker, options: .backwards) {
        status = Int(body[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        body = String(body[..<range.lowerBound])
    }
    let headers = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
    return CurlResult(exitCode: result.status, status: status, body: body, headers: headers)
}
