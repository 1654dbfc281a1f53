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
}
