import Foundation
import NIOCore
import NIOPosix
import TernCLI

@main
enum TernMain {
    static func main() async {
        // Run Swift concurrency on NIO's event loops: a request then stays on one thread from socket to
        // handler to upstream call, without hops between two thread pools (TERN_NIO_EXECUTOR=0 opts out).
        if ProcessInfo.processInfo.environment["TERN_NIO_EXECUTOR"] != "0" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        CLILogging.bootstrap()
        await TernCommand.run(arguments: nil)
    }
}
