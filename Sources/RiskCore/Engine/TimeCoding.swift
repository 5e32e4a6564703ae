import TidemarkProtocol

// MetaApi writes broker times as `YYYY-MM-DD HH:mm:ss.SSS` strings; these helpers let the output
// types do the same while `BrokerTime` itself stays a plain millisecond count.
extension KeyedEncodingContainer {
    mutating func encodeBrokerTime(_ time: BrokerTime, forKey key: Key) throws {
        try encode(time.formatted, forKey: key)
    }

    mutating func encodeBrokerTimeIfPresent(_ time: BrokerTime?, forKey key: Key) throws {
        if let time { try encode(time.formatted, forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// Reads `YYYY-MM-DD HH:mm:ss.SSS` (MetaApi) or an integer count of milliseconds (recordings).
    func decodeBrokerTime(forKey key: Key) throws -> BrokerTime {
        if let milliseconds = try? decode(Int64.self, forKey: key) { return BrokerTime(milliseconds: milliseconds) }
        let text = try decode(String.self, forKey: key)
        guard let time = BrokerTime(formatted: text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "not a broker time (YYYY-MM-DD HH:mm:ss.SSS): \(text)")
        }
        return time
    }

    func decodeBrokerTimeIfPresent(forKey key: Key) throws -> BrokerTime? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeBrokerTime(forKey: key)
    }
}
