import Foundation
import NIOSSL

public enum RESTTLSError: Error, CustomStringConvertible {
    case unreadable(key: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let key, let path, let reason): return "restapi.\(key) '\(path)': \(reason)"
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
        return try NIOSSLContext(configuration: configuration)
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
