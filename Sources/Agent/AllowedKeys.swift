import Foundation
import TidemarkProtocol
import ZeroMQ

/// A CURVE allow-list file: each non-empty, non-`#` line names a key (a Z85 public key, a
/// `public-key = "…"` line, or the path of a certificate file), optionally followed by the
/// accounts it may speak for, comma-separated `server:login` ids:
///
/// ```
/// rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 Broker-Live:1234, Broker-Live:5678
/// public-key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID" Broker-Live:9012
/// /etc/tidemark/keys/terminal-3.key
/// ```
///
/// A key without accounts is bound to the first account it says HELLO for (see the admin API's
/// `terminal-keys`).
struct AllowedKeys: Hashable, Sendable {
    var keys: [CurveKey]
    var accountsOfKey: [CurveKey: Set<AccountID>]

    static func read(path: String) throws -> AllowedKeys {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var list = AllowedKeys(keys: [], accountsOfKey: [:])
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let key: CurveKey
            var rest: Substring
            if line.hasPrefix("public-key") {
                let parts = line.split(separator: "\"", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count >= 3 else {
                    throw AgentError.configuration.with(detail: "\(path): cannot read `\(line)`")
                }
                key = try CurveKey(z85: String(parts[1]))
                rest = parts[2]
            } else {
                let first = line.prefix { !$0.isWhitespace }
                rest = line[first.endIndex...]
                if first.utf8.count == 40, let z85 = try? CurveKey(z85: String(first)) {
                    key = z85
                } else {
                    key = try CurveKeyPair.publicKey(certificateFile: String(first))
                }
            }
            var accounts: Set<AccountID> = []
            for item in rest.split(separator: ",") {
                let id = item.trimmingCharacters(in: .whitespaces)
                if id.isEmpty { continue }
                guard let colon = id.lastIndex(of: ":"), colon != id.startIndex,
                    Int64(id[id.index(after: colon)...]) != nil
                else {
                    throw AgentError.configuration.with(
                        detail: "\(path): `\(id)` is not an account id (server:login) in `\(line)`")
                }
                accounts.insert(AccountID(id))
            }
            list.keys.append(key)
            if !accounts.isEmpty { list.accountsOfKey[key, default: []].formUnion(accounts) }
        }
        return list
    }
}
