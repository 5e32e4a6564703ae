import Crypto
import Foundation
import TidemarkProtocol

/// The `Tidemark-Signature` header: how a delivery is signed, and how a receiver checks it.
///
/// The header reads `t=<unix seconds>,v1=<hex HMAC-SHA256>`. The MAC is computed with the webhook's
/// secret (its UTF-8 bytes) over the *signed payload*: the decimal timestamp, a full stop, then the
/// request body exactly as received (`"<t>.<body>"`). Binding the timestamp into the MAC lets a
/// receiver refuse replays of an old, captured request (see `tolerance` in ``verify(header:body:secret:now:tolerance:)``).
///
/// A header may carry several `v1` entries (a receiver accepts any that matches) and keys other than
/// `t` and `v1` are ignored, so a later scheme can be added beside `v1` without breaking receivers.
public enum WebhookSignature {
    /// The header's name.
    public static let headerName = "Tidemark-Signature"

    /// The header value for `body` signed with `secret` at `timestamp` (unix seconds).
    public static func header(body: some DataProtocol, secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(hex(code(body: body, secret: secret, timestamp: timestamp)))"
    }

    /// Checks a delivery: the header is well formed, one of its `v1` MACs matches `body` and `secret`,
    /// and its timestamp is within `tolerance` of `now` (either side: clocks drift).
    ///
    /// Pass the body's raw bytes, before any JSON parsing: re-encoding changes bytes and breaks the MAC.
    /// The MAC comparison takes the same time wherever the bytes differ.
    /// - Throws: ``WebhookSignatureError`` saying why the request must be refused.
    public static func verify(
        header: String, body: some DataProtocol, secret: String, now: Date = Date(),
        tolerance: Duration = .seconds(300)
    ) throws(WebhookSignatureError) {
        let parsed = try parse(header)
        let key = SymmetricKey(data: Data(secret.utf8))
        let payload = signedPayload(body: body, timestamp: parsed.timestamp)
        let matches = parsed.codes.contains { code in
            HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: payload, using: key)
        }
        guard matches else { throw .signatureMismatch }
        let skew = abs(now.timeIntervalSince1970 - Double(parsed.timestamp))
        let (seconds, attoseconds) = tolerance.components
        guard skew <= Double(seconds) + Double(attoseconds) / 1e18 else {
            throw WebhookSignatureError.timestampOutOfTolerance.with(
                detail: "signed at \(parsed.timestamp), \(Int(skew)) s away")
        }
    }

    // MARK: Internals

    static func code(body: some DataProtocol, secret: String, timestamp: Int64) -> HashedAuthenticationCode<SHA256> {
        HMAC<SHA256>.authenticationCode(
            for: signedPayload(body: body, timestamp: timestamp),
            using: SymmetricKey(data: Data(secret.utf8)))
    }

    static func signedPayload(body: some DataProtocol, timestamp: Int64) -> Data {
        var payload = Data("\(timestamp).".utf8)
        payload.append(contentsOf: body)
        return payload
    }

    /// The timestamp and every well-formed `v1` code of a header.
    static func parse(_ header: String) throws(WebhookSignatureError) -> (timestamp: Int64, codes: [[UInt8]]) {
        var timestamp: Int64?
        var codes: [[UInt8]] = []
        for element in header.split(separator: ",") {
            let pair = element.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else {
                throw WebhookSignatureError.malformedHeader.with(detail: "element without '='")
            }
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "t":
                guard timestamp == nil, let seconds = Int64(value) else {
                    throw WebhookSignatureError.malformedHeader.with(detail: "timestamp")
                }
                timestamp = seconds
            case "v1":
                // A code of the wrong length or with a non-hex digit cannot match; skipping it lets
                // another v1 entry still match.
                if let bytes = bytes(fromHex: value), bytes.count == SHA256.byteCount { codes.append(bytes) }
            default:
                continue
            }
        }
        guard let timestamp else { throw WebhookSignatureError.malformedHeader.with(detail: "no timestamp") }
        guard !codes.isEmpty else { throw WebhookSignatureError.malformedHeader.with(detail: "no v1 signature") }
        return (timestamp, codes)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func bytes(fromHex text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count.isMultiple(of: 2) else { return nil }
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}

/// Why a webhook signature was refused. Cases can be added without breaking callers; ``code`` is
/// short and bounded, so it can label a metric or a log field.
public struct WebhookSignatureError: CodeComparedError {
    private enum Code: String, Hashable, Sendable {
        case malformedHeader = "malformed_header"
        case signatureMismatch = "signature_mismatch"
        case timestampOutOfTolerance = "timestamp_out_of_tolerance"
    }

    private let codeValue: Code
    /// What exactly was wrong.
    public var detail: String

    private init(_ code: Code) {
        codeValue = code
        detail = ""
    }

    /// A short, stable name of the failure.
    public var code: String { codeValue.rawValue }

    /// The header is not `t=<integer>,v1=<hex>[,…]`.
    public static let malformedHeader = Self(.malformedHeader)
    /// No `v1` code matches the body and secret: forged, altered, or signed with another secret.
    public static let signatureMismatch = Self(.signatureMismatch)
    /// The signature is genuine but its timestamp is too far from now: possibly a replayed request.
    public static let timestampOutOfTolerance = Self(.timestampOutOfTolerance)
}
