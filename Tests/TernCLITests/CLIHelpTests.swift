import ArgumentParser
@testable import TernCLI
import Testing

@Suite("CLI help")
struct CLIHelpTests {
    @Test("help texts: no promises of what is to come; prompts show --version N is the prompt's version, not tern's")
    func helpTexts() throws {
        let help = TernCommand.helpMessage(for: Serve.self)
        #expect(!help.contains("as they land") && help.contains("web UI"), "\(help)")
        let parsed = try TernCommand.parseAsRoot(["prompts", "show", "support", "--version", "2"])
        let show = try #require(parsed as? PromptsCommand.Show, "\(type(of: parsed))")
        #expect(show.version == 2 && show.name == "support")
    }

    /// Every command's help, by its path.
    static func allHelp() -> [(String, String)] {
        var out: [(String, String)] = []
        func visit(_ command: any ParsableCommand.Type, _ path: [String]) {
            out.append((path.joined(separator: " "), TernCommand.helpMessage(for: command, columns: 80)))
            for sub in command.configuration.subcommands { visit(sub, path + [sub.configuration.commandName ?? "\(sub)"]) }
        }
        visit(TernCommand.self, ["tern"])
        return out
    }

    @Test("every command's help states each default once, and its examples fit 80 columns whole")
    func defaultsOnceExamplesWhole() {
        let all = Self.allHelp()
        #expect(all.count > 25, "every command is visited")
        for (path, help) in all {
            // An option's description runs until the next option; "(default" twice in one is a repeat.
            let options = help.components(separatedBy: "\n  -").map { $0.replacingOccurrences(of: "\n", with: " ") }
            for option in options where option.components(separatedBy: "(default").count > 2 {
                Issue.record("\(path): the default is stated twice: \(option.prefix(160))")
            }
            for line in help.split(separator: "\n") where line.count > 80 && !line.hasPrefix("USAGE:") {
                Issue.record("\(path): a line wider than 80 columns: \(line)")
            }
            // A wrapped example leaves a line that starts mid-command (a flag or an argument, not "tern" or a comment).
            let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (index, line) in lines.enumerated() where line.hasPrefix("  tern ") && !line.hasSuffix("\\") && index + 1 < lines.count {
                let next = lines[index + 1]
                #expect(!next.hasPrefix("--") && !next.hasPrefix("-o "), "\(path): an example broken across lines: \(line) / \(next)")
            }
        }
    }
}
