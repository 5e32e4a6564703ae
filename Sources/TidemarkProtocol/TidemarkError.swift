/// An error as a value with a reason: a short, stable ``code`` that can label a metric, and a
/// ``detail`` that says what exactly went wrong.
///
/// Every Tidemark error type adopts it. Each keeps its kinds of failure in a private enum exposed
/// through static members (so kinds can be added without breaking callers, as async-http-client's
/// errors do), compares by kind, and gets ``message`` and `description` from here unless it words
/// them itself. A log line or a counter can then treat any of them alike.
public protocol TidemarkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure, short and snake_case (`sequence_gap`, `bad_field`, …): a bounded set,
    /// so it can label a metric.
    var code: String { get }
    /// What exactly went wrong (ids, numbers, the system's message); empty when ``code`` says it all.
    var detail: String { get }
}

extension TidemarkError {
    /// No detail: the code says it all.
    public var detail: String { "" }

    /// One line for logs: the code, then the detail when there is one (`not_found: tracker 7`).
    public var message: String { detail.isEmpty ? code : "\(code): \(detail)" }

    /// The ``message``.
    public var description: String { message }
}

/// A ``TidemarkError`` whose ``TidemarkError/detail`` is attached where the failure is known and
/// is for logs only: two errors are equal when their codes are, whatever the details, so that
/// `error == .sequenceGap` reads naturally and a `switch` over static members works.
///
/// Adopting it gives ``with(detail:)``, `==` and `hash(into:)`; a type whose equality must also
/// weigh other fields (``TidemarkError``'s other adopters) keeps its own. Codes come from a
/// `String`-backed enum, whose raw values the compiler keeps distinct, so comparing codes compares
/// kinds.
public protocol CodeComparedError: TidemarkError {
    /// What exactly went wrong; set through ``with(detail:)``.
    var detail: String { get set }
}

extension CodeComparedError {
    /// The same error with `detail` attached.
    public func with(detail: String) -> Self {
        var copy = self
        copy.detail = detail
        return copy
    }

    /// Equal when the codes are equal, whatever the details.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// Hashes the code alone, as `==` compares it.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
