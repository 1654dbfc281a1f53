public import Foundation
import TernLocal
public import Testing

/// The real all-MiniLM-L6-v2 for the tests that need it: they run when it is installed, or when
/// scripts/test requires it (`TERN_TEST_REQUIRE_MODEL=1`, then its absence is a failure, not a skip).
public enum InstalledModel {
    public static var installed: Bool { LocalModels.isInstalled(.allMiniLML6V2) }
    public static var required: Bool { ProcessInfo.processInfo.environment["TERN_TEST_REQUIRE_MODEL"] == "1" }
    /// For `.enabled(if: InstalledModel.enabled, InstalledModel.skipReason)`.
    public static var enabled: Bool { installed || required }
    public static let skipReason: Comment = "all-minilm-l6-v2 is not installed (scripts/test pulls it)"

    /// The model's folder; fails the test (naming the command that installs it) when it is missing.
    @discardableResult
    public static func requireInstalled() throws -> URL {
        try #require(installed, "TERN_TEST_REQUIRE_MODEL=1 but all-minilm-l6-v2 is not installed: run tern models pull all-minilm-l6-v2")
        return LocalModels.directory(of: LocalModelSpec.allMiniLML6V2.name)
    }
}
