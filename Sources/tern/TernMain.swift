import Foundation
import NIOCore
import NIOPosix
import TernCLI
import TernGateway

@main
enum TernMain {
    static func main() async {
        // Two malloc arenas instead of glibc's eight per core: with one per busy thread, memory freed by one
        // thread's requests sat in its arena and RSS under load doubled (docs/BENCHMARKS.md, "Gateway memory").
        // MALLOC_ARENA_MAX in the environment still decides when set.
        if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil { MemoryTrim.limitArenas(2) }
        if ProcessInfo.processInfo.environment["MALLOC_MMAP_THRESHOLD_"] == nil { MemoryTrim.fixThresholds() }
        // Run Swift concurrency on NIO's event loops: a request then stays on one thread from socket to
        // handler to upstream call, without hops between two thread pools (TERN_NIO_EXECUTOR=0 opts out).
        if ProcessInfo.processInfo.environment["TERN_NIO_EXECUTOR"] != "0" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        CLILogging.bootstrap()
        await TernCommand.run(arguments: nil)
    }
}
