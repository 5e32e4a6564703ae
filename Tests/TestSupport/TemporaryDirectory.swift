import Foundation

/// A fresh directory under the system's temporary directory, removed with everything in it when
/// the value is released (at the end of the test that holds it).
public final class TemporaryDirectory: Sendable {
    /// Where the directory is.
    public let url: URL

    /// Creates the directory, named `tidemark-test-` and a random UUID.
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// The path of a store file in this directory.
    public var storePath: String { path("tidemark.sqlite") }
}
