import Foundation
public import Logging
import Synchronization
import TernCore
#if canImport(Glibc)
    import Glibc
#endif

/// An append-only file of the gateway's traces, written before a call's response completes, so that a
/// trace the client was answered for survives a crash or `kill -9` (the kernel keeps written bytes) and a
/// database that cannot take writes (disk full, read-only, unreachable): what the store did not take is
/// replayed from here once it can, and at the next start.
///
/// Layout: `DATA_DIR/journal/<process>/<segment>.jsonl`, one JSON object (`TraceBatchItem`) per line. Each
/// process writes in a folder of its own, locked (`flock`) while it lives; at start a process adopts the
/// folders whose lock it can take (earlier runs, crashed or not) and replays them. Segments rotate at
/// `segmentBytes`; a segment goes once every trace in it is stored. Not fsynced: a power cut can lose what
/// the kernel had not yet written out, a process kill cannot.
public final class TraceJournal: Sendable {
    /// Where a trace went: its segment, and its line in it (from 0).
    public struct Position: Sendable, Equatable {
        public var segment: Int
        public var line: Int
    }

    struct Segment {
        var number: Int
        var path: String
        var appended = 0
        var settled = 0
        /// Lines whose trace the store took: a replay of the segment skips them.
        var written: Set<Int> = []
        var bytes = 0
        /// A write of some of its traces failed for good: the whole segment is replayed instead.
        var needsReplay = false
    }

    struct State {
        var fd: Int32 = -1
        var current: Segment
        /// Closed segments with traces not yet stored, by number.
        var closed: [Int: Segment] = [:]
        /// Segments (and adopted files) waiting to be replayed into the store, oldest first.
        var replay: [String] = []
        /// Lines already stored of the files waiting for replay (this process's segments only).
        var writtenByPath: [String: Set<Int>] = [:]
        var totalBytes = 0
        var appendFailures = 0
    }

    public let root: String
    let folder: String
    let segmentBytes: Int
    /// Beyond this many bytes on disk, new traces are not journaled (and counted).
    public let maxBytes: Int
    let logger: Logger
    private let lockFD: Int32
    private let state: Mutex<State>

    /// Opens a journal folder of this process under `root` and lists the earlier ones to replay.
    public init(root: String, segmentBytes: Int = 8 << 20, maxBytes: Int = 1 << 30, logger: Logger) throws {
        self.root = root
        self.segmentBytes = segmentBytes
        self.maxBytes = maxBytes
        self.logger = logger
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // Earlier folders whose owner is gone (their lock is free): replay them, oldest segment first.
        var adopted: [String] = []
        var adoptedBytes = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root))?.sorted() ?? [] {
            let dir = (root as NSString).appendingPathComponent(name)
            let lockPath = (dir as NSString).appendingPathComponent("lock")
            let fd = open(lockPath, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".jsonl") }
                .sorted { (Int($0.dropLast(6)) ?? 0) < (Int($1.dropLast(6)) ?? 0) }
            for file in files {
                let path = (dir as NSString).appendingPathComponent(file)
                let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
                // Spare segments that were never written to hold nothing.
                if size == 0 {
                    unlink(path)
                    continue
                }
                adoptedBytes += size
                adopted.append(path)
            }
            if files.allSatisfy({ !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent($0)) }) {
                try? FileManager.default.removeItem(atPath: dir)
            }
        }
        // Named by start time (milliseconds, 13 digits until the year 2286), so earlier runs sort first.
        let folder = (root as NSString).appendingPathComponent("\(Int(Date().timeIntervalSince1970 * 1000))-\(TernID.make())")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let lockFD = open((folder as NSString).appendingPathComponent("lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0, flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            throw TernError.internalError("cannot lock the trace journal at \(folder): \(String(cString: strerror(errno)))")
        }
        self.folder = folder
        self.lockFD = lockFD
        var state = State(current: Segment(number: 1, path: (folder as NSString).appendingPathComponent("1.jsonl")))
        state.replay = adopted
        state.totalBytes = adoptedBytes
        // The first segment and its spare exist, their room reserved, before any trace needs them.
        _ = Self.openCurrent(&state, folder: folder, segmentBytes: segmentBytes)
        self.state = Mutex(state)
        if !adopted.isEmpty {
            logger.notice(
                "trace journal: replaying traces of an earlier run",
                metadata: [
                    "files": .stringConvertible(adopted.count),
                    "bytes": .stringConvertible(adoptedBytes),
                ])
        }
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
        close(lockFD)
    }

    public struct Stats: Sendable, Equatable {
        public var bytes: Int
        public var segmentsToReplay: Int
        public var appendFailures: Int
    }

    public var stats: Stats {
        state.withLock { Stats(bytes: $0.totalBytes, segmentsToReplay: $0.replay.count, appendFailures: $0.appendFailures) }
    }

    /// Appends one encoded trace (a line of JSON). Returns the segment it went to, or nil when it could
    /// not be written (disk full, read-only, over `maxBytes`): the caller still queues it for the store.
    /// Called under the trace writer's lock, so segments and the writer's queue stay in step.
    func append(_ line: [UInt8]) -> Position? {
        state.withLock { state -> Position? in
            guard state.totalBytes + line.count <= maxBytes else {
                state.appendFailures += 1
                return nil
            }
            if state.current.bytes + line.count > segmentBytes, state.current.appended > 0 { rotate(&state) }
            guard Self.openCurrent(&state, folder: folder, segmentBytes: segmentBytes) else {
                state.appendFailures += 1
                return nil
            }
            var written = 0
            while written < line.count {
                let n = line.withUnsafeBytes { write(state.fd, $0.baseAddress! + written, line.count - written) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    // A partial line would be skipped at replay; cut it off so the next one starts clean.
                    if written > 0 { _ = ftruncate(state.fd, off_t(state.current.bytes)) }
                    state.appendFailures += 1
                    return nil
                }
                written += n
            }
            let position = Position(segment: state.current.number, line: state.current.appended)
            state.current.bytes += line.count
            state.current.appended += 1
            state.totalBytes += line.count
            return position
        }
    }

    /// Opens the current segment when it is not open, reserving its room and the next one's.
    private static func openCurrent(_ state: inout State, folder: String, segmentBytes: Int) -> Bool {
        guard state.fd < 0 else { return true }
        state.fd = open(state.current.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard state.fd >= 0 else { return false }
        reserve(state.fd, segmentBytes)
        // The next segment is made (and its room reserved) now, while there is room to make it.
        let next = (folder as NSString).appendingPathComponent("\(state.current.number + 1).jsonl")
        let spare = open(next, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        if spare >= 0 {
            reserve(spare, segmentBytes)
            close(spare)
        }
        return true
    }

    /// Reserves a segment's blocks on disk beyond its end (`FALLOC_FL_KEEP_SIZE`): appends land in space
    /// already allocated, so a disk that fills up meanwhile still takes the journal's traces (the current
    /// segment and the spare next one) while the database cannot write.
    private static func reserve(_ fd: Int32, _ segmentBytes: Int) {
        guard let fallocate = Self.fallocate else { return }
        _ = fallocate(fd, 1 /* FALLOC_FL_KEEP_SIZE */, 0, Int64(segmentBytes))
    }

    /// glibc's `fallocate` (Linux; not in Swift's Glibc module), looked up once.
    private static let fallocate: (@convention(c) (Int32, Int32, Int64, Int64) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fallocate") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32, Int64, Int64) -> Int32).self)
    }()

    private func rotate(_ state: inout State) {
        if state.fd >= 0 { close(state.fd) }
        state.fd = -1
        let old = state.current
        if old.appended > 0 {
            if old.needsReplay {
                queueReplay(old, &state)
            } else if old.settled >= old.appended {
                remove(old, &state)
            } else {
                state.closed[old.number] = old
            }
        } else if old.bytes == 0 {
            unlink(old.path)
        }
        let next = old.number + 1
        state.current = Segment(number: next, path: (folder as NSString).appendingPathComponent("\(next).jsonl"))
    }

    private func queueReplay(_ segment: Segment, _ state: inout State) {
        state.replay.append(segment.path)
        if !segment.written.isEmpty { state.writtenByPath[segment.path] = segment.written }
    }

    private func remove(_ segment: Segment, _ state: inout State) {
        unlink(segment.path)
        state.totalBytes -= segment.bytes
    }

    /// Appends a trace the writer's queue has no room for: it lives only here, so its segment is replayed
    /// from disk as a whole (the traces of it that were also queued are written twice, harmlessly: writes
    /// are idempotent). Nil when it could not be written.
    func appendSpilled(_ line: [UInt8]) -> Position? {
        guard let position = append(line) else { return nil }
        state.withLock { state in
            if state.current.number == position.segment { state.current.needsReplay = true } else { state.closed[position.segment]?.needsReplay = true }
        }
        return position
    }

    /// Closes the current segment when it holds spilled traces, so the next replay reads them (the writer
    /// calls this every tick).
    func rotateForReplay() {
        state.withLock { state in
            if state.current.needsReplay, state.current.appended > 0 { rotate(&state) }
        }
    }

    /// Traces at these positions were stored (or, with `failed`, could not be): a fully stored segment is
    /// deleted; one with a failure, or with spilled traces, is kept for replay, which skips what was stored.
    func settle(_ positions: [Position], failed: Bool) {
        state.withLock { state in
            for position in positions {
                if position.segment == state.current.number {
                    state.current.settled += 1
                    if failed { state.current.needsReplay = true } else { state.current.written.insert(position.line) }
                    continue
                }
                if var segment = state.closed[position.segment] {
                    segment.settled += 1
                    if failed { segment.needsReplay = true } else { segment.written.insert(position.line) }
                    if segment.settled >= segment.appended {
                        state.closed[position.segment] = nil
                        if segment.needsReplay { queueReplay(segment, &state) } else { remove(segment, &state) }
                    } else {
                        state.closed[position.segment] = segment
                    }
                } else if !failed, let path = state.replay.first(where: { $0.hasSuffix("/\(position.segment).jsonl") && $0.hasPrefix(folder) }) {
                    // Already waiting for replay (it held spilled traces): the replay skips this one.
                    state.writtenByPath[path, default: []].insert(position.line)
                }
            }
            // A failed write: close the segment now so it can be replayed as a whole.
            if failed, state.current.needsReplay { rotate(&state) }
        }
    }

    /// At a clean shutdown, after the writer's last batch: when every trace of the current segment is stored,
    /// the segment and its spare go, so the next start has nothing to replay.
    func closeIfSettled() {
        state.withLock { state in
            guard state.current.settled >= state.current.appended, !state.current.needsReplay else { return }
            if state.fd >= 0 { close(state.fd) }
            state.fd = -1
            unlink(state.current.path)
            unlink((folder as NSString).appendingPathComponent("\(state.current.number + 1).jsonl"))
            state.totalBytes -= state.current.bytes
            state.current = Segment(
                number: state.current.number + 2,
                path: (folder as NSString).appendingPathComponent("\(state.current.number + 2).jsonl"))
        }
    }

    /// The oldest file waiting for replay, and the lines of it already stored.
    func nextReplay() -> (path: String, written: Set<Int>)? {
        state.withLock { state in state.replay.first.map { ($0, state.writtenByPath[$0] ?? []) } }
    }

    /// A replayed file was stored: delete it.
    func replayed(_ path: String) {
        state.withLock { state in
            state.replay.removeAll { $0 == path }
            state.writtenByPath[path] = nil
            let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
            unlink(path)
            state.totalBytes = max(0, state.totalBytes - size)
        }
        // An adopted folder with nothing left goes too.
        let dir = (path as NSString).deletingLastPathComponent
        if dir != folder, let rest = try? FileManager.default.contentsOfDirectory(atPath: dir), !rest.contains(where: { $0.hasSuffix(".jsonl") }) {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// A journal file's lines but the `written` ones (slices of the file's bytes, not copies).
    static func lines(_ path: String, skipping written: Set<Int> = []) -> [Data] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).enumerated()
            .filter { !written.contains($0.offset) }.map(\.element)
    }

    /// The traces of some lines; a torn last line (a crash mid-write) or an unreadable one is counted, not kept.
    static func decode(_ lines: ArraySlice<Data>) -> (items: [TraceBatchItem], unreadable: Int) {
        let decoder = JSONDecoder()
        var items: [TraceBatchItem] = []
        items.reserveCapacity(lines.count)
        var unreadable = 0
        for line in lines {
            if let item = try? decoder.decode(TraceBatchItem.self, from: line) { items.append(item) } else { unreadable += 1 }
        }
        return (items, unreadable)
    }

    /// One trace as a journal line.
    static func encode(_ item: TraceBatchItem) -> [UInt8]? {
        guard var bytes = try? encoder.encode(item) else { return nil }
        bytes.append(UInt8(ascii: "\n"))
        return [UInt8](bytes)
    }

    static let encoder = JSONEncoder()
}
