import Foundation

/// A condition that did not hold by its deadline: the test fails with what it waited for.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    /// What was waited for.
    public var condition: String
    /// How long it was waited for.
    public var deadline: Duration

    public var description: String { "\(condition): not reached within \(deadline)" }
}

/// Waits until `condition` holds, checking it every `interval`, and throws ``DeadlineExceeded``
/// if it still does not hold after `deadline`.
///
/// For outcomes another task, thread or process reaches (a row committed, a metric counted, a
/// socket bound): the test goes on as soon as the outcome is there, and fails clearly, instead of
/// hanging, when it never comes. Never a fixed sleep.
public func eventually(
    _ condition: String = "condition",
    deadline: Duration = .seconds(20),
    interval: Duration = .milliseconds(5),
    _ holds: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while true {
        if try await holds() { return }
        guard clock.now < end else { throw DeadlineExceeded(condition: condition, deadline: deadline) }
        try await Task.sleep(for: interval)
    }
}

/// The blocking form of ``eventually(_:deadline:interval:_:)``, for code that runs on a thread of its
/// own (socket loops, child processes) rather than in a task.
public func eventuallyBlocking(
    _ condition: String = "condition",
    deadline: Duration = .seconds(20),
    interval: Duration = .milliseconds(5),
    _ holds: () throws -> Bool
) throws {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while true {
        if try holds() { return }
        guard clock.now < end else { throw DeadlineExceeded(condition: condition, deadline: deadline) }
        let (seconds, attoseconds) = interval.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
    }
}

/// Reads a value every `interval` until `condition` holds of it, at most for `deadline`; returns
/// that value, or, when the deadline passed first, the last value read (nil when none was), so that
/// the test's expectation fails showing what it saw instead.
public func readUntil<Value>(
    deadline: Duration,
    interval: Duration = .milliseconds(50),
    _ read: () async throws -> Value?,
    holds condition: (Value) -> Bool
) async throws -> Value? {
    var last: Value?
    do {
        try await eventually("the value read meets its condition", deadline: deadline, interval: interval) {
            last = try await read()
            return last.map(condition) ?? false
        }
    } catch is DeadlineExceeded {}
    return last
}
