// A stub upstream for benchmarks and manual testing: speaks the OpenAI and Anthropic wire formats on
// a loopback port and answers every request at once (or after --latency-ms). Never a product default.
import Foundation
import TernTestSupport

var port = 0
var latencyMs = 0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? 0
    case "--latency-ms": latencyMs = Int(arguments.next() ?? "") ?? 0
    default:
        FileHandle.standardError.write(Data("usage: tern-stub [--port N] [--latency-ms N]\n".utf8))
        exit(2)
    }
}
let stub = try await StubUpstream.start(port: port)
if latencyMs > 0 { stub.setDefaultLatency(.milliseconds(latencyMs)) }
FileHandle.standardOutput.write(Data("stub listening on \(stub.baseURL)\n".utf8))
while true { try await Task.sleep(for: .seconds(3600)) }
