import Foundation

extension Process {
    /// Waits until the process has exited, at most `deadline`; past it, kills it (SIGKILL) and
    /// throws ``DeadlineExceeded``, so a child that hangs fails its test instead of hanging it.
    /// Polls instead of blocking a thread of the cooperative pool in `waitUntilExit()`.
    public func waitUntilExit(deadline: Duration) async throws {
        do {
            try await eventually(exitCondition, deadline: deadline, interval: .milliseconds(10)) { !isRunning }
        } catch {
            killAndReap()
            throw error
        }
    }

    /// The blocking form of ``waitUntilExit(deadline:)``, for synchronous tests.
    public func waitUntilExitBlocking(deadline: Duration) throws {
        do {
            try eventuallyBlocking(exitCondition, deadline: deadline, interval: .milliseconds(10)) { !isRunning }
        } catch {
            killAndReap()
            throw error
        }
    }

    /// What the waits wait for, as a failed test names it.
    private var exitCondition: String {
        "\(executableURL?.lastPathComponent ?? "process") (pid \(processIdentifier)) exits"
    }

    /// SIGKILL, and a bounded wait for the kernel to reap it (a process that outlives SIGKILL by
    /// seconds is beyond what a test can do anything about).
    private func killAndReap() {
        guard isRunning else { return }
        kill(processIdentifier, SIGKILL)
        try? eventuallyBlocking("killed process exits", deadline: .seconds(10), interval: .milliseconds(10)) {
            !isRunning
        }
    }
}
