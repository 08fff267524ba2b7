import Foundation
import NIOSSL
import StazConfig

public enum RESTTLSError: Error, CustomStringConvertible {
    case unreadable(key: String, path: String, reason: String)
    /// The private key is not the one of the certificate (`keyfile` nil: both in `certfile`).
    case keyMismatch(certfile: String, keyfile: String?)
    /// The files load but together do not make a TLS context.
    case unusable(files: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let key, let path, let reason): return "restapi.\(key) '\(path)': \(reason)"
        case .keyMismatch(let certfile, let keyfile?):
            return "restapi.keyfile does not match restapi.certfile: the key in '\(keyfile)' is not the one of the certificate in '\(certfile)'"
        case .keyMismatch(let certfile, nil):
            return "restapi.certfile '\(certfile)': the private key in the file is not the one of its certificate"
        case .unusable(let files, let reason): return "restapi TLS (\(files)): \(reason)"
        }
    }
}

extension RESTTLSSettings {
    /// The server-side TLS context. Files are loaded now, so a wrong path or password is a
    /// clear error at start instead of failed handshakes later.
    public func makeServerContext() throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certfile)
        } catch {
            throw RESTTLSError.unreadable(key: "certfile", path: certfile, reason: Self.explain(error, path: certfile))
        }
        guard !chain.isEmpty else {
            throw RESTTLSError.unreadable(key: "certfile", path: certfile, reason: "no PEM certificate in the file")
        }
        let keyPath = keyfile ?? certfile
        let keyName = keyfile == nil ? "certfile" : "keyfile"
        let key: NIOSSLPrivateKey
        do {
            if let keyfilePassword {
                let bytes = try Self.contents(keyPath)
                key = try NIOSSLPrivateKey(bytes: bytes, format: .pem) { supply in
                    supply(Array(keyfilePassword.utf8))
                }
            } else {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            }
        } catch {
            throw RESTTLSError.unreadable(key: keyName, path: keyPath, reason: Self.explain(error, path: keyPath))
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if let cafile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cafile))
            } catch {
                throw RESTTLSError.unreadable(key: "cafile", path: cafile, reason: Self.explain(error, path: cafile))
            }
        }
        switch verifyClient {
        case .none: configuration.certificateVerification = .none
        case .optional: configuration.certificateVerification = .optionalVerification
        case .required: configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch NIOSSLError.failedToLoadPrivateKey {
            // The key parsed above, so BoringSSL refused it for not matching the certificate.
            throw RESTTLSError.keyMismatch(certfile: certfile, keyfile: keyfile)
        } catch {
            let files = [("certfile", certfile), ("keyfile", keyfile), ("cafile", cafile)]
                .compactMap { key, path in path.map { "restapi.\(key) '\($0)'" } }.joined(separator: ", ")
            throw RESTTLSError.unusable(files: files, reason: "\(error)")
        }
    }

    /// For `staz --validate-config`: builds the context as the REST server does at start and
    /// returns why that fails, naming keys and files; nil when it works or TLS is off.
    public static func problem(restapi: RestAPISection) -> String? {
        guard let tls = RESTSecurity(restapi: restapi, resolve: { _ in [] }).tls else { return nil }
        do { _ = try tls.makeServerContext(); return nil } catch { return "\(error)" }
    }

    static func contents(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RESTTLSError.unreadable(key: "file", path: path, reason: "cannot be read")
        }
        return Array(data)
    }

    /// NIOSSL's errors say little ("failedToLoadPrivateKey"); say whether the file is missing.
    static func explain(_ error: Error, path: String) -> String {
        if !FileManager.default.fileExists(atPath: path) { return "no such file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "not readable" }
        return "not usable (\(error)); wrong format or wrong keyfile_password?"
    }
}
