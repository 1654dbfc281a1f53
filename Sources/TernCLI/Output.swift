import Foundation
import Synchronization

/// Where commands write their output: standard output, or a buffer in tests.
public final class CLIOutput: Sendable {
    private let buffer = Mutex("")
    private let capturing: Bool

    init(capturing: Bool) { self.capturing = capturing }

    public static let standard = CLIOutput(capturing: false)
    public static func capture() -> CLIOutput { CLIOutput(capturing: true) }

    @TaskLocal public static var current: CLIOutput = .standard

    public func line(_ text: String = "") {
        if capturing {
            buffer.withLock { $0 += text + "\n" }
        } else {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    /// Everything written so far (capturing outputs only).
    public var text: String { buffer.withLock { $0 } }
}

func say(_ text: String = "") { CLIOutput.current.line(text) }

/// Aligned columns for list commands.
func table(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        say(cells.joined(separator: "  "))
    }
}
