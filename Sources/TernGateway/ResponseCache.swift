import Crypto
public import Foundation
public import Logging
import Synchronization
public import TernCore
public import TernProviders

/// A complete answer kept for exact repeats of a request.
public struct CachedAnswer: Sendable, Codable, Equatable {
    public var body: Data
    public var deployment: String
    public var model: String?
    public var usage: TokenUsage?
    public var outputText: String?

    public init(body: Data, deployment: String, model: String?, usage: TokenUsage?, outputText: String?) {
        self.body = body
        self.deployment = deployment
        self.model = model
        self.usage = usage
        self.outputText = outputText
    }
}

/// Exact-match response cache: an in-memory LRU in front of the store, per project, with a TTL.
/// Writes to the store happen in the background, never on the request path.
public final class ResponseCache: Sendable {
    struct Entry {
        var answer: CachedAnswer
        var expires: Date
        var tick: UInt64
        var bytes: Int
    }

    let store: any TernStore
    let capacity: Int
    /// The memory part's bound in bytes (answers' bodies and texts), whatever the count.
    let capacityBytes: Int
    let logger: Logger
    private let memory = Mutex<(entries: [String: Entry], tick: UInt64, bytes: Int)>(([:], 0, 0))

    public init(store: any TernStore, capacity: Int, capacityBytes: Int = 64 << 20, logger: Logger) {
        self.store = store
        self.capacity = capacity
        self.capacityBytes = capacityBytes
        self.logger = logger
    }

    /// Answers and bytes held in memory.
    public var memoryUse: (entries: Int, bytes: Int) { memory.withLock { ($0.entries.count, $0.bytes) } }

    /// The key of a request: operation, requested model and the body without fields that do not change the answer.
    public static func key(operation: GatewayOperation, model: String, body: JSONValue) -> String {
        var normalized = body
        for field in ["stream", "stream_options", "user", "metadata", "tern"] { normalized[field] = nil }
        var data = Data("\(operation.rawValue)\u{1}\(model)\u{1}".utf8)
        data.append(normalized.canonicalData())
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    public func get(projectID: String, key: String, now: Date = Date()) async -> CachedAnswer? {
        let memoryKey = projectID + "\u{1}" + key
        let hit: CachedAnswer? = memory.withLock { memory in
            guard var entry = memory.entries[memoryKey] else { return nil }
            guard entry.expires > now else {
                memory.entries[memoryKey] = nil
                memory.bytes -= entry.bytes
                return nil
            }
            memory.tick += 1
            entry.tick = memory.tick
            memory.entries[memoryKey] = entry
            return entry.answer
        }
        if let hit { return hit }
        do {
            guard let stored = try await store.responseCache.get(projectID: projectID, key: key, now: now),
                let answer = try? JSONDecoder().decode(CachedAnswer.self, from: stored.value)
            else { return nil }
            // Kept in memory until the stored answer expires, not longer.
            remember(memoryKey, answer, expires: stored.expiresAt)
            return answer
        } catch {
            logger.warning("response cache read failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    public func put(projectID: String, key: String, answer: CachedAnswer, ttlSeconds: Int) {
        let expires = Date().addingTimeInterval(Double(ttlSeconds))
        remember(projectID + "\u{1}" + key, answer, expires: expires)
        let store = self.store, logger = self.logger
        Task {
            do {
                let data = try JSONEncoder().encode(answer)
                try await store.responseCache.put(projectID: projectID, key: key, value: data, expiresAt: expires)
            } catch {
                logger.warning("response cache write failed", metadata: ["error": "\(error)"])
            }
        }
    }

    func remember(_ key: String, _ answer: CachedAnswer, expires: Date) {
        let bytes = 256 + answer.body.count + (answer.outputText?.utf8.count ?? 0)
        guard capacity > 0, bytes <= capacityBytes else { return }
        memory.withLock { memory in
            memory.tick += 1
            if let replaced = memory.entries[key] { memory.bytes -= replaced.bytes }
            memory.entries[key] = Entry(answer: answer, expires: expires, tick: memory.tick, bytes: bytes)
            memory.bytes += bytes
            if memory.entries.count > capacity || memory.bytes > capacityBytes {
                // Evict the least recently used tenth (or more, until under the byte bound) in one pass.
                var evicted = 0
                for (victim, entry) in memory.entries.sorted(by: { $0.value.tick < $1.value.tick }) {
                    guard evicted < max(1, capacity / 10) || memory.bytes > capacityBytes, victim != key else { continue }
                    memory.entries[victim] = nil
                    memory.bytes -= entry.bytes
                    evicted += 1
                    if evicted >= max(1, capacity / 10), memory.bytes <= capacityBytes { break }
                }
            }
        }
    }
}
