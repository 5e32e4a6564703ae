import CZeroMQ

/// Z85 text encoding (ZeroMQ RFC 32), as used for CURVE keys: four bytes become five printable
/// characters that are safe in source code, config files and command lines.
public enum Z85 {
    /// Encodes `bytes`, whose count must be a multiple of 4.
    public static func encode(_ bytes: [UInt8]) throws -> String {
        guard bytes.count % 4 == 0 else { throw ZMQError.invalidZ85("Z85 encode of \(bytes.count) bytes") }
        if bytes.isEmpty { return "" }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        let result = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) }
        guard result != nil else { throw ZMQError.invalidZ85("Z85 encode") }
        return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes `text`, whose length must be a multiple of 5, using only the Z85 alphabet.
    public static func decode(_ text: String) throws -> [UInt8] {
        let utf8 = Array(text.utf8)
        // libzmq checks the length but (4.3) not every character, so check the alphabet here.
        guard utf8.count % 5 == 0, utf8.allSatisfy(isZ85Character) else {
            throw ZMQError.invalidZ85("Z85 decode of \(utf8.count) characters")
        }
        if utf8.isEmpty { return [] }
        var bytes = [UInt8](repeating: 0, count: utf8.count / 5 * 4)
        let result = text.withCString { zmq_z85_decode(&bytes, $0) }
        guard result != nil else { throw ZMQError.invalidZ85("Z85 decode") }
        return bytes
    }

    private static let alphabet: Set<UInt8> = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)

    private static func isZ85Character(_ byte: UInt8) -> Bool { alphabet.contains(byte) }
}
