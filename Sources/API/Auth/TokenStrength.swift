import Foundation

/// How much a token resists guessing, estimated from its length and the character classes it
/// uses (lower case, upper case, digits, other), minus what repetition gives away. Generous to
/// random strings of any alphabet, hard on words: `passwordpassword` scores about 65 bits.
public enum TokenStrength {
    /// The least an admin token must carry.
    public static let minimumBits = 128

    /// Estimated entropy in bits.
    public static func estimatedBits(_ token: String) -> Int {
        let scalars = Array(token.unicodeScalars)
        guard !scalars.isEmpty else { return 0 }
        var alphabet = 0
        if scalars.contains(where: { ("a"..."z").contains($0) }) { alphabet += 26 }
        if scalars.contains(where: { ("A"..."Z").contains($0) }) { alphabet += 26 }
        if scalars.contains(where: { ("0"..."9").contains($0) }) { alphabet += 10 }
        if scalars.contains(where: {
            !("a"..."z").contains($0) && !("A"..."Z").contains($0) && !("0"..."9").contains($0)
        }) {
            alphabet += 32
        }
        // Repetition: only the distinct characters' share of the length counts fully, so a word
        // repeated (or one character many times) scores as what it is.
        let distinct = Set(scalars).count
        let effectiveLength = min(scalars.count, distinct * 2)
        return Int((Double(effectiveLength) * log2(Double(max(alphabet, 2)))).rounded(.down))
    }
}
