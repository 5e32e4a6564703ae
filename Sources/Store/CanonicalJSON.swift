import Foundation

/// The canonical JSON form the store keeps bodies in: the value's `Codable` form with sorted keys and
/// unescaped slashes — the same options as the recording codec — so equal values give equal bytes.
public enum CanonicalJSON {
    /// The canonical JSON bytes of `value`.
    public static func encode(_ value: some Encodable) throws(StoreError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch {
            throw StoreError.encoding.with(detail: "\(type(of: value)): \(error)")
        }
    }

    /// Decodes a stored body.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(StoreError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw StoreError.encoding.with(detail: "\(type): \(error)")
        }
    }
}
