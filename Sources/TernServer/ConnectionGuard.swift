import Foundation
public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTPTypes
import Synchronization
public import TernCore

/// Connection timeouts and a connection limit in front of Hummingbird's HTTP/1 channel.
///
/// Per connection, one deadline applies at a time:
/// - idle: no request under way and no byte of the next one received (keep-alive), `idle_timeout_seconds`;
/// - header: from the first byte of a request until its head is complete, `header_timeout_seconds`;
/// - body: from the head until the whole body is read, `body_timeout_seconds`.
/// While a handler works on a complete request (a long stream, say), no deadline applies: the gateway's
/// own upstream timeouts do. A connection past its deadline is closed.
///
/// At `max_connections` open connections, a new one closes the connection that has waited longest
/// without a request under way (idle or half-sent), so a flood of idle or slow sockets cannot keep
/// `/healthz` or real clients out; when every connection is busy, the new one is closed at once.
public struct ConnectionLimits: Sendable {
    public var idleTimeout: Duration
    public var headerTimeout: Duration
    public var bodyTimeout: Duration
    public var maxConnections: Int

    public init(idleTimeout: Duration, headerTimeout: Duration, bodyTimeout: Duration, maxConnections: Int) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
    }

    public init(_ server: TernConfig.Server) {
        self.init(
            idleTimeout: .clampedSeconds(server.idleTimeoutSeconds), headerTimeout: .clampedSeconds(server.headerTimeoutSeconds),
            bodyTimeout: .clampedSeconds(server.bodyTimeoutSeconds), maxConnections: server.maxConnections)
    }
}

/// The open connections of one server, for the limit and for eviction.
final class ConnectionTable: Sendable {
    struct Entry {
        let connection: GuardedConnection
        var waitingSince: NIODeadline?
    }

    private let state = Mutex<(next: Int, entries: [Int: Entry])>((0, [:]))
    let limit: Int
    let closedByLimit = Atomic<Int>(0)
    let closedByTimeout = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var count: Int { state.withLock { $0.entries.count } }

    /// Registers a new connection; returns its id and the connection to close to make room (which may be the
    /// new one itself when every other connection is busy).
    func open(_ connection: GuardedConnection) -> (id: Int, evict: GuardedConnection?) {
        state.withLock { state in
            let id = state.next
            state.next += 1
            var evict: GuardedConnection?
            if state.entries.count >= limit {
                let waiting = state.entries.filter { $0.value.waitingSince != nil }
                if let oldest = waiting.min(by: { $0.value.waitingSince! < $1.value.waitingSince! }) {
                    evict = oldest.value.connection
                    state.entries[oldest.key] = nil
                } else {
                    evict = connection
                }
            }
            if evict !== connection { state.entries[id] = Entry(connection: connection, waitingSince: .now()) }
            return (id, evict)
        }
    }

    func setWaiting(_ id: Int, since: NIODeadline?) {
        state.withLock { state in
            if state.entries[id] != nil { state.entries[id]!.waitingSince = since }
        }
    }

    func close(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }
}

/// Per-connection state shared by the two handlers of one connection; used on its event loop only.
final class GuardedConnection: @unchecked Sendable {
    enum Phase { case idle, header, body, handling }

    let channel: any Channel
    let limits: ConnectionLimits
    let table: ConnectionTable
    var id = -1
    var phase = Phase.idle
    /// Requests whose head was read and whose response has not ended (pipelining).
    var inFlight = 0
    var bodyOpen = false
    var timer: Scheduled<Void>?

    init(channel: any Channel, limits: ConnectionLimits, table: ConnectionTable) {
        self.channel = channel
        self.limits = limits
        self.table = table
    }

    func arm(_ phase: Phase) {
        self.phase = phase
        timer?.cancel()
        timer = nil
        let timeout: Duration
        switch phase {
        case .idle: timeout = limits.idleTimeout
        case .header: timeout = limits.headerTimeout
        case .body: timeout = limits.bodyTimeout
        case .handling:
            table.setWaiting(id, since: nil)
            return
        }
        table.setWaiting(id, since: phase == .body ? nil : .now())
        guard timeout > .zero else { return }
        let nanos = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanos)) { [self] in
            table.closedByTimeout.add(1, ordering: .relaxed)
            channel.close(promise: nil)
        }
    }

    /// Bytes arrived: an idle connection starts reading a request head.
    func bytesArrived() {
        if phase == .idle { arm(.header) }
    }

    func headRead() {
        inFlight += 1
        bodyOpen = true
        arm(.body)
    }

    func endRead() {
        bodyOpen = false
        arm(.handling)
    }

    func responseEnded() {
        inFlight = max(0, inFlight - 1)
        if bodyOpen { arm(.body) } else if inFlight == 0 { arm(.idle) }
    }

    func closed() {
        timer?.cancel()
        timer = nil
        table.close(id)
    }

    /// Closes the connection from any thread.
    func evict() {
        channel.close(promise: nil)
    }
}

/// First in the pipeline: sees raw bytes (a request starting) and the connection opening and closing.
final class RawConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let connection: GuardedConnection

    init(connection: GuardedConnection) { self.connection = connection }

    func channelActive(context: ChannelHandlerContext) {
        let (id, evict) = connection.table.open(connection)
        connection.id = id
        if let evict {
            connection.table.closedByLimit.add(1, ordering: .relaxed)
            if evict === connection {
                context.close(promise: nil)
                return
            }
            evict.evict()
        }
        connection.arm(.idle)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.closed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.bytesArrived()
        context.fireChannelRead(data)
    }
}

/// After HTTP decoding: sees request heads and ends, and the ends of responses.
final class HTTPPartsHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let connection: GuardedConnection

    init(connection: GuardedConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: connection.headRead()
        case .end: connection.endRead()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { connection.responseEnded() }
        context.write(data, promise: promise)
    }
}

/// Hummingbird's HTTP/1 channel with `ConnectionLimits` applied.
public struct GuardedHTTP1Channel: ServerChildChannel {
    public typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel
    let limits: ConnectionLimits
    let table: ConnectionTable

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connection = GuardedConnection(channel: channel, limits: limits, table: table)
        do {
            try channel.pipeline.syncOperations.addHandler(RawConnectionHandler(connection: connection))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // After the HTTP codec (the inner setup's handlers), before its connection-state handler is
            // irrelevant: this one only observes parts.
            try channel.pipeline.syncOperations.addHandler(
                HTTPPartsHandler(connection: connection),
                position: .before(
                    try channel.pipeline.syncOperations.handler(type: HTTPConnectionStateHandler.self)))
            return value
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with Tern's connection timeouts and limit; `table` counts the connections.
    static func guardedHTTP1(limits: ConnectionLimits, table: ConnectionTable) -> HTTPServerBuilder {
        .init { responder in
            GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: .init()), limits: limits, table: table)
        }
    }
}

/// The process's open-file limit, which bounds connections: each takes a descriptor, and a server out of
/// descriptors cannot accept even `/healthz`.
public enum FileLimit {
    /// Raises the soft limit to the hard one (what `ulimit -n` allows without privileges); returns it.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return Int(clamping: raised.rlim_cur) }
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// The soft limit now in force.
    public static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// Connections the server may hold: the configured maximum, but always leaving descriptors for the
    /// database, files, upstream connections and the listener (a quarter of the limit, at least 64).
    public static func connectionBudget(configured: Int, limit: Int = current) -> Int {
        max(16, min(configured, limit - max(64, limit / 4)))
    }
}
