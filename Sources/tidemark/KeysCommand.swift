import ArgumentParser
import ZeroMQ

/// `tidemark keys`: makes a CURVE key pair for the agent (server) or for one EA (client).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate a CURVE key pair (Z85).",
        discussion: """
            Without --out, prints the public and secret keys. With --out DIR, writes DIR/NAME.key \
            (public certificate, give it to the other side) and DIR/NAME.key_secret (both keys, keep \
            it private), both with mode 0600; existing files are never overwritten.
            """
    )

    @Option(name: .long, help: "Directory to write NAME.key and NAME.key_secret into.")
    var out: String?

    @Option(name: .long, help: "Base name of the key files.")
    var name: String = "tidemark"

    func run() throws {
        let keys = try CurveKeyPair.generate()
        if let out {
            let paths = try keys.writeCertificates(directory: out, name: name)
            print("public key: \(keys.publicKey.z85)")
            print("wrote \(paths.publicPath)")
            print("wrote \(paths.secretPath)")
        } else {
            print("public-key = \"\(keys.publicKey.z85)\"")
            print("secret-key = \"\(keys.secretKey.z85)\"")
        }
    }
}
