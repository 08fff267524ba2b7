import NIOSSL
import PostgresNIO

extension ConnectionSecurity {
    /// PostgresNIO's TLS setting for this security, the certificate files loaded now (a missing
    /// or unreadable file fails the connection attempt, naming the file, as libpq does).
    func postgresTLS() throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable:
            return .disable
        case .prefer:
            return .prefer(try context(verification: .none))
        case .require(let verification):
            return .require(try context(verification: verification))
        }
    }

    private func context(verification: Verification) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch verification {
        case .none: tls.certificateVerification = .none
        case .certificateAuthority: tls.certificateVerification = .noHostnameVerification
        case .full: tls.certificateVerification = .fullVerification
        }
        if verification != .none {
            if let rootCertificate {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
            } else {
                tls.trustRoots = .default
            }
        }
        if let clientCertificate, let clientKey {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificate).map { .certificate($0) }
            if let keyPassword {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem) { set in set(keyPassword.utf8) })
            } else {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem))
            }
        }
        return try NIOSSLContext(configuration: tls)
    }
}
