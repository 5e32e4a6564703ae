import Foundation
@testable import Webhooks
import Testing

@Suite("Webhook signature")
struct SignatureTests {
    let body = Data(#"{"sequenceNumber":7,"type":"drawdown"}"#.utf8)
    let secret = "whsec_test"
    let signedAt = Date(timeIntervalSince1970: 1_700_000_000)

    @Test("The header is t=<seconds>,v1=<HMAC-SHA256 over \"<t>.<body>\"> (checked against Python's hmac)")
    func knownAnswer() {
        // python3: hmac.new(b"whsec_test", b'1700000000.{"sequenceNumber":7,"type":"drawdown"}',
        //                   hashlib.sha256).hexdigest()
        #expect(WebhookSignature.header(body: body, secret: secret, timestamp: 1_700_000_000)
            == "t=1700000000,v1=c28b35a1e4ab623806b6448631c30ecb42315c6700642dba9d3cc212729c47d2")
    }

    @Test("A genuine header verifies, within the tolerance either side of its timestamp")
    func genuineVerifies() throws {
        let header = WebhookSignature.header(body: body, secret: secret, timestamp: 1_700_000_000)
        try WebhookSignature.verify(header: header, body: body, secret: secret, now: signedAt)
        try WebhookSignature.verify(header: header, body: body, secret: secret, now: signedAt.addingTimeInterval(300))
        try WebhookSignature.verify(header: header, body: body, secret: secret, now: signedAt.addingTimeInterval(-300))
    }

    @Test("An altered body, another secret, or a stale timestamp is refused with its reason")
    func refusals() {
        let header = WebhookSignature.header(body: body, secret: secret, timestamp: 1_700_000_000)
        var altered = body
        altered[altered.startIndex + 18] = UInt8(ascii: "8") // sequenceNumber 7 → 8
        #expect(throws: WebhookSignatureError.signatureMismatch) {
            try WebhookSignature.verify(header: header, body: altered, secret: secret, now: signedAt)
        }
        #expect(throws: WebhookSignatureError.signatureMismatch) {
            try WebhookSignature.verify(header: header, body: body, secret: "whsec_other", now: signedAt)
        }
        #expect(throws: WebhookSignatureError.timestampOutOfTolerance) {
            try WebhookSignature.verify(header: header, body: body, secret: secret, now: signedAt.addingTimeInterval(301))
        }
        // Re-signing an old body with a new timestamp but the old MAC fails: the timestamp is signed.
        let forged = header.replacingOccurrences(of: "t=1700000000", with: "t=1700000300")
        #expect(throws: WebhookSignatureError.signatureMismatch) {
            try WebhookSignature.verify(header: forged, body: body, secret: secret, now: signedAt.addingTimeInterval(300))
        }
    }

    @Test("Malformed headers are refused as malformed", arguments: [
        "", "v1=c28b35a1", "t=abc,v1=00", "t=1700000000", "t=1700000000,v1=zz", "t=1,t=2,v1=00", "garbage",
    ])
    func malformed(header: String) {
        #expect(throws: WebhookSignatureError.malformedHeader) {
            try WebhookSignature.verify(header: header, body: body, secret: secret, now: signedAt)
        }
    }

    @Test("Any matching v1 entry is enough; unknown keys and upper-case hex are accepted")
    func severalCodes() throws {
        let genuine = "c28b35a1e4ab623806b6448631c30ecb42315c6700642dba9d3cc212729c47d2"
        let other = String(repeating: "0", count: 64)
        try WebhookSignature.verify(header: "t=1700000000,v1=\(other),v0=x,v1=\(genuine.uppercased())", body: body,
                                    secret: secret, now: signedAt)
        #expect(throws: WebhookSignatureError.signatureMismatch) {
            try WebhookSignature.verify(header: "t=1700000000,v1=\(other)", body: body, secret: secret, now: signedAt)
        }
    }

    @Test("Hex round trip")
    func hex() {
        #expect(WebhookSignature.hex([0x00, 0x0F, 0xA5, 0xFF]) == "000fa5ff")
        #expect(WebhookSignature.bytes(fromHex: "000fA5ff") == [0x00, 0x0F, 0xA5, 0xFF])
        #expect(WebhookSignature.bytes(fromHex: "0") == nil)
        #expect(WebhookSignature.bytes(fromHex: "0g") == nil)
    }
}
