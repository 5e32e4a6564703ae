import NIOSSL

/// HTTPS for the agent's `--http` address: the certificate chain and key of `tlsCertificate` and
/// `tlsKey` (PEM files), read once at start so that a missing or malformed file stops the agent
/// with a configuration error instead of failing every handshake later.
enum HTTPSConfiguration {
    /// The server's TLS settings (TLS 1.2 and newer, NIOSSL's default ciphers), or nil when the
    /// configuration asks for plain HTTP.
    static func load(_ configuration: AgentConfiguration) throws(AgentError) -> TLSConfiguration? {
        guard let certificatePath = configuration.tlsCertificate, let keyPath = configuration.tlsKey else { return nil }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw AgentError.configuration.with(detail: "tlsCertificate \(certificatePath): not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else {
            throw AgentError.configuration.with(detail: "tlsCertificate \(certificatePath): no certificate in the file")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw AgentError.configuration.with(detail: "tlsKey \(keyPath): not a readable PEM private key (\(error))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        // A key that does not belong to the certificate fails here, not at the first handshake.
        do { _ = try NIOSSLContext(configuration: tls) } catch {
            throw AgentError.configuration.with(detail: "tlsCertificate \(certificatePath) and tlsKey \(keyPath) do not make a TLS server (\(error))")
        }
        return tls
    }
}
