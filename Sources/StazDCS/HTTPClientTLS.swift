import AsyncHTTPClient
import Foundation
import NIOSSL
import StazConfig

/// A TLS file named in the configuration that cannot be used; `key` is the configuration key
/// (`ctl.certfile`, `etcd3.cacert`, ...), so the message says what to fix.
public struct TLSFileError: Error, CustomStringConvertible, Equatable {
    public var key: String
    public var path: String
    public var reason: String

    public var description: String { "\(key) '\(path)': \(reason)" }
}

/// Client-side TLS for calls to members' REST APIs (member → member probes, stazctl), as
/// Patroni's `PatroniRequest` sets it up: CA from `ctl.cacert`, else `restapi.cafile`; client
/// certificate `ctl.certfile` (+ `ctl.keyfile`, else the key inside certfile). `ctl.insecure`
/// turns off server-certificate checks entirely when no client certificate is configured, and
/// only the host-name check when one is (Patroni's urllib3 `assert_hostname=False`).
/// Returns nil when nothing TLS-specific is configured (https then uses the system roots).
public func makePeerTLSConfiguration(restapi: RestAPISection?, ctl: CtlSection) throws -> TLSConfiguration? {
    let caPath = ctl.cacert ?? restapi?.cafile
    guard caPath != nil || ctl.certfile != nil || ctl.insecure else { return nil }
    var tls = TLSConfiguration.makeClientConfiguration()
    if let caPath {
        tls.trustRoots = .certificates(try loadCertificates(caPath, key: ctl.cacert != nil ? "ctl.cacert" : "restapi.cafile"))
    }
    if let certfile = ctl.certfile {
        tls.certificateChain = try loadCertificates(certfile, key: "ctl.certfile").map { .certificate($0) }
        let keyPath = ctl.keyfile ?? certfile
        tls.privateKey = .privateKey(try loadPrivateKey(keyPath, key: ctl.keyfile != nil ? "ctl.keyfile" : "ctl.certfile"))
        if ctl.insecure { tls.certificateVerification = .noHostnameVerification }
    } else if ctl.insecure {
        tls.certificateVerification = .none
    }
    return tls
}

/// `HTTPClient.Configuration` for member REST calls (the daemon's peer prober and stazctl).
/// A TLS file that cannot be loaded is left out (requests then fail at the TLS layer or with
/// 403); call `makePeerTLSConfiguration` at start-up to report such errors clearly.
public func makePeerHTTPClientConfiguration(restapi: RestAPISection, ctl: CtlSection) -> HTTPClient.Configuration {
    var configuration = HTTPClient.Configuration.untraced
    // A member whose REST port refuses connections is down: say so at once, as Patroni does.
    // AsyncHTTPClient would otherwise retry the connect with backoff until the request's whole
    // timeout ran out, which made a restarted staz wait 3 s in its duplicate-name check (long
    // enough for its lease to expire after a crash) and every leader race wait 2 s per dead peer.
    configuration.connectionPool.retryConnectionEstablishment = false
    if let tls = try? makePeerTLSConfiguration(restapi: restapi, ctl: ctl) {
        configuration.tlsConfiguration = tls
    }
    return configuration
}

/// TLS for etcd (`cacert`, `cert`, `key` of the `etcd`/`etcd3` section); `section` is the
/// section's name for messages. nil when none is set: https endpoints then use system roots.
public func makeEtcdTLSConfiguration(_ etcd: EtcdSection, section: String = "etcd3") throws -> TLSConfiguration? {
    guard etcd.cacert != nil || etcd.cert != nil else { return nil }
    var tls = TLSConfiguration.makeClientConfiguration()
    if let cacert = etcd.cacert {
        tls.trustRoots = .certificates(try loadCertificates(cacert, key: "\(section).cacert"))
    }
    if let cert = etcd.cert {
        tls.certificateChain = try loadCertificates(cert, key: "\(section).cert").map { .certificate($0) }
        let keyPath = etcd.key ?? cert
        tls.privateKey = .privateKey(try loadPrivateKey(keyPath, key: etcd.key != nil ? "\(section).key" : "\(section).cert"))
    }
    return tls
}

func loadCertificates(_ path: String, key: String) throws -> [NIOSSLCertificate] {
    let certificates: [NIOSSLCertificate]
    do { certificates = try NIOSSLCertificate.fromPEMFile(path) } catch {
        throw TLSFileError(key: key, path: path, reason: explainTLSFileFailure(error, path: path))
    }
    guard !certificates.isEmpty else { throw TLSFileError(key: key, path: path, reason: "no PEM certificate in the file") }
    return certificates
}

func loadPrivateKey(_ path: String, key: String) throws -> NIOSSLPrivateKey {
    do { return try NIOSSLPrivateKey(file: path, format: .pem) } catch {
        throw TLSFileError(key: key, path: path, reason: explainTLSFileFailure(error, path: path))
    }
}

/// NIOSSL's own errors ("failedToLoadCertificate") do not say whether the file is missing.
func explainTLSFileFailure(_ error: Error, path: String) -> String {
    if !FileManager.default.fileExists(atPath: path) { return "no such file" }
    if !FileManager.default.isReadableFile(atPath: path) { return "not readable" }
    return "not a usable PEM file (\(error))"
}

extension HTTPClient.Configuration {
    /// AsyncHTTPClient's defaults without request tracing. staz installs no tracer, yet with the
    /// default (no-op) one every request still takes its URL apart for span attributes: 2–3% of
    /// an idle leader's CPU in a profile, for the keepalives and reads it sends each second.
    public static var untraced: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.tracing.tracer = nil
        return configuration
    }
}
