import TernCLI

@main
enum TernMain {
    static func main() async {
        CLILogging.bootstrap()
        await TernCommand.run(arguments: nil)
    }
}
