import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the bench's children (`tidemark agent`, `tidemark dashboard`, started from this executable)
/// share: where the executable is, and waiting for the lines that say where a child listens.
enum ChildProcess {
    /// This executable, to start children of it.
    static var ownExecutable: URL {
        URL(
            fileURLWithPath: CommandLine.arguments[0].hasPrefix("/")
                ? CommandLine.arguments[0]
                : FileManager.default.currentDirectoryPath + "/" + CommandLine.arguments[0])
    }

    /// Reads `output` until it has a line starting with each of `prefixes`, the process exits, or
    /// `deadline` passes; returns the rest of each line found, by prefix (a missing prefix: no entry).
    static func listeningAddresses(
        _ prefixes: [String], in output: String, of process: Process, deadline: ContinuousClock.Instant
    ) -> [String: String] {
        var found: [String: String] = [:]
        while found.count < prefixes.count, ContinuousClock.now < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                for prefix in prefixes where line.hasPrefix(prefix) {
                    found[prefix] = String(line.dropFirst(prefix.count))
                }
            }
            if found.count < prefixes.count { usleep(20_000) }
        }
        return found
    }
}
