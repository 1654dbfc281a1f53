public import Foundation
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore
import Synchronization

/// A real HTTP server on a loopback port that records the webhooks it receives, answering each path by a
/// script (status codes in turn, or no answer at all). For tests of alert notifications.
public final class WebhookReceiver: Sendable {
    public enum Answer: Sendable, Equatable {
        case status(Int)
        /// No answer until the receiver stops.
        case hang
    }

    /// A request as received; header names in lower case.
    public struct Received: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: Data
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    struct State {
        var scripts: [String: [Answer]] = [:]
        var received: [Received] = []
        var waiters: [(count: Int, awaited: Awaited<Void>)] = []
    }

    private let state = Mutex(State())
    private let stopper: @Sendable () async -> Void
    private let stopping = Awaited<Void>("the webhook receiver to stop")
    public let port: Int

    init(port: Int, stopper: @escaping @Sendable () async -> Void) {
        self.port = port
        self.stopper = stopper
    }

    /// `http://127.0.0.1:<port><path>`
    public func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// The answers to the next requests on `path`, in turn (then 200).
    public func script(_ path: String, _ answers: [Answer]) { state.withLock { $0.scripts[path] = answers } }

    public var received: [Received] { state.withLock { $0.received } }

    /// Waits until `count` requests arrived in all (fails after `testWaitLimit`).
    public func waitForRequests(_ count: Int) async throws {
        let awaited = Awaited<Void>("\(count) webhooks at the receiver")
        let done = state.withLock { state -> Bool in
            if state.received.count >= count { return true }
            state.waiters.append((count, awaited))
            return false
        }
        if done { awaited.fulfil(()) }
        try await awaited.value()
    }

    func receive(_ request: Request) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1024 * 1024)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        let path = request.uri.path
        let (answer, ready) = state.withLock { state -> (Answer, [Awaited<Void>]) in
            state.received.append(Received(path: path, headers: headers, body: Data(buffer.readableBytesView)))
            var answer = Answer.status(200)
            if var script = state.scripts[path], !script.isEmpty {
                answer = script.removeFirst()
                state.scripts[path] = script
            }
            let count = state.received.count
            let ready = state.waiters.filter { $0.count <= count }.map(\.awaited)
            state.waiters.removeAll { $0.count <= count }
            return (answer, ready)
        }
        for waiter in ready { waiter.fulfil(()) }
        switch answer {
        case .hang:
            _ = try? await stopping.value(within: .seconds(3600))
            return Response(status: .serviceUnavailable)
        case .status(let code):
            return Response(status: .init(code: code), headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
    }

    public func stop() async {
        stopping.fulfil(())
        await stopper()
    }

    /// Starts a receiver on a free loopback port.
    public static func start(logger: Logger = .quiet) async throws -> WebhookReceiver {
        let router = Router()
        let box = Mutex<WebhookReceiver?>(nil)
        router.post("**") { request, _ in try await box.withLock { $0! }.receive(request) }
        let server = try await BackgroundServer.start(logger: logger) { onRunning in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        }
        let instance = WebhookReceiver(port: server.port) { await server.stop() }
        box.withLock { $0 = instance }
        return instance
    }
}
