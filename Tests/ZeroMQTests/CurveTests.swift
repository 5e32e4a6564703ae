import Testing

@testable import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CurveTests {
    @Test func z85MatchesTheRFC32Example() throws {
        // ZeroMQ RFC 32/Z85: the eight bytes 86 4F D2 6F B5 59 F7 5B encode as "HelloWorld".
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(try Z85.encode(bytes) == "HelloWorld")
        #expect(try Z85.decode("HelloWorld") == bytes)
    }

    @Test func z85RejectsBadInput() {
        #expect(throws: ZMQError.invalidZ85) { try Z85.encode([1, 2, 3]) }
        #expect(throws: ZMQError.invalidZ85) { try Z85.decode("Hell") }
        #expect(throws: ZMQError.invalidZ85) { try Z85.decode("Hell\"World") }  // '"' is not in the alphabet
        #expect(throws: ZMQError.invalidKey) { try CurveKey(z85: "HelloWorld") }
    }

    @Test func keyPairsAreFreshAndConsistent() throws {
        let first = try CurveKeyPair.generate()
        let second = try CurveKeyPair.generate()
        #expect(first != second)
        #expect(first.publicKey.z85.utf8.count == 40)
        #expect(try CurveKey(z85: first.secretKey.z85) == first.secretKey)
        // The public key derived from the secret one is the one generated with it.
        #expect(try CurveKeyPair(secretKey: first.secretKey) == first)
    }

    @Test func certificatesAreWrittenPrivateAndReadBack() throws {
        var template = Array("/tmp/tidemark-keys-XXXXXX".utf8CString)
        let directory = String(cString: mkdtemp(&template)!)
        let keys = try CurveKeyPair.generate()
        let paths = try keys.writeCertificates(directory: directory, name: "agent")
        #expect(paths.publicPath == directory + "/agent.key")
        for path in [paths.publicPath, paths.secretPath] {
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
        }
        #expect(try CurveKeyPair(certificateFile: paths.secretPath) == keys)
        #expect(try CurveKeyPair.publicKey(certificateFile: paths.publicPath) == keys.publicKey)
        // Never overwrite a key.
        #expect(throws: ZMQError.self) { try keys.writeCertificates(directory: directory, name: "agent") }
        // The public certificate does not leak the secret key.
        #expect(!keys.publicCertificate.contains(keys.secretKey.z85))
        #expect(throws: ZMQError.self) { try CurveKeyPair(certificateFile: paths.publicPath) }
        unlink(paths.publicPath)
        unlink(paths.secretPath)
        rmdir(directory)
    }

    /// A CURVE ROUTER behind the allow-list, and a DEALER with `clientKeys`; returns what the
    /// router received (nil if nothing came through within the wait) and the allow-list.
    private func exchange(
        clientKeys: CurveKeyPair, allowed: [CurveKey], waitMilliseconds: Int
    )
        throws -> (received: [[UInt8]]?, userID: String?, admitted: Int, denied: Int, reply: [UInt8]?)
    {
        let context = try ZMQContext()
        defer { context.shutdown() }
        let serverKeys = try CurveKeyPair.generate()
        let allowList = try ZAPAllowList(context: context, allowedKeys: allowed)
        let router = try ZMQSocket(context: context, type: .router)
        try router.makeCurveServer(keys: serverKeys)
        try router.bind("tcp://127.0.0.1:*")

        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.makeCurveClient(serverKey: serverKeys.publicKey, keys: clientKeys)
        try dealer.connect(router.lastEndpoint)
        try dealer.send("hello")

        let poller = ZMQPoller()
        poller.add(router)
        guard try poller.poll(timeoutMilliseconds: waitMilliseconds) > 0 else {
            return (nil, nil, allowList.admittedCount, allowList.deniedCount, nil)
        }
        let identity = ZMQMessage()
        let payload = ZMQMessage()
        try router.receive(into: identity)
        try router.receive(into: payload)
        try router.send(identity.bytes, more: true)
        try router.send("welcome")
        try dealer.setOption(.receiveTimeout, 5_000)
        let reply = try dealer.receive()
        return (
            [identity.bytes, payload.bytes], payload.metadata("User-Id"),
            allowList.admittedCount, allowList.deniedCount, reply
        )
    }

    @Test func allowedKeyConnectsAndExchangesMessages() throws {
        let client = try CurveKeyPair.generate()
        let result = try exchange(clientKeys: client, allowed: [client.publicKey], waitMilliseconds: 10_000)
        #expect(result.received?.last == Array("hello".utf8))
        #expect(result.reply == Array("welcome".utf8))
        #expect(result.userID == client.publicKey.z85)
        #expect(result.admitted == 1 && result.denied == 0)
    }

    @Test func unknownKeyGetsNothingThrough() throws {
        let client = try CurveKeyPair.generate()
        let someoneElse = try CurveKeyPair.generate()
        let result = try exchange(clientKeys: client, allowed: [someoneElse.publicKey], waitMilliseconds: 500)
        #expect(result.received == nil)
        #expect(result.admitted == 0)
        #expect(result.denied >= 1)
    }

    @Test func keysCanBeAllowedAndRevokedAtRunTime() throws {
        let context = try ZMQContext()
        defer { context.shutdown() }
        let key = try CurveKeyPair.generate().publicKey
        let list = try ZAPAllowList(context: context, allowedKeys: [])
        #expect(!list.isAllowed(key))
        list.allow(key)
        #expect(list.isAllowed(key))
        list.revoke(key)
        #expect(!list.isAllowed(key))
        // One handler per context.
        #expect(throws: ZMQError.addressInUse) { _ = try ZAPAllowList(context: context, allowedKeys: []) }
    }
}
