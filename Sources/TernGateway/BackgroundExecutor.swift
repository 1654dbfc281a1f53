import Foundation
import Synchronization
import CTernSystem
#if canImport(Glibc)
    import Glibc
#endif

/// A task executor on one dedicated thread, for background work (the trace writer) that must not run
/// on the threads serving requests: building, writing and freeing batches of traces there would
/// delay requests queued behind it.
public final class BackgroundExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    public static let shared = BackgroundExecutor(name: "tern-background", niceness: 10)
    /// The monitoring job's own thread (language detection, rollups): it can run for seconds, and on the
    /// trace writer's thread it held the queue back until tens of thousands of traces waited in memory.
    public static let monitoring = BackgroundExecutor(name: "tern-monitoring", niceness: 15, idle: true)

    /// `niceness` lowers the thread's scheduling priority on Linux (0 keeps it); `idle` runs it at
    /// SCHED_IDLE, so it only gets a core no request thread wants.
    public init(name: String, niceness: Int32 = 0, idle: Bool = false) {
        let thread = Thread { [unowned self] in
            Self.renice(niceness)
            #if canImport(Glibc)
                if idle {
                    var param = sched_param()
                    param.sched_priority = 0
                    _ = sched_setscheduler(0, 5 /* SCHED_IDLE */, &param)
                }
            #endif
            self.loop()
        }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    static func renice(_ niceness: Int32) {
        #if canImport(Glibc)
            guard niceness != 0 else { return }
            // This thread's kernel id, from /proc/thread-self -> "<pid>/task/<tid>".
            var buffer = [CChar](repeating: 0, count: 64)
            let length = readlink("/proc/thread-self", &buffer, 63)
            guard length > 0 else { return }
            let link = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let tid = link.split(separator: "/").last.flatMap({ id_t($0) }) else { return }
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid, niceness)
        #endif
    }
}

/// Gives memory that a burst of traffic left free back to the system (glibc keeps freed heap in its arenas,
/// so a process's RSS otherwise stays at its peak): `malloc_trim(0)`, at most every 10 s.
public enum MemoryTrim {
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    private static let last = Mutex<(trimmed: ContinuousClock.Instant?, checked: ContinuousClock.Instant?)>((nil, nil))

    /// `mallopt(M_ARENA_MAX, count)`: call before threads start.
    public static func limitArenas(_ count: Int32) {
        mallopt(-8 /* M_ARENA_MAX */, count)
    }

    /// Fixed thresholds instead of glibc's sliding ones: blocks of 256 KiB and more (batches, journal files
    /// read back) are mapped and unmapped on their own, and free memory at the top of the heap goes back past
    /// 4 MiB. glibc otherwise raises its mapping threshold to the largest block freed (up to 32 MiB), after
    /// which such blocks are carved from the heap and leave holes that RSS keeps (docs/BENCHMARKS.md).
    public static func fixThresholds() {
        mallopt(-3 /* M_MMAP_THRESHOLD */, 256 << 10)
        mallopt(-1 /* M_TRIM_THRESHOLD */, 4 << 20)
    }

    private static func mallopt(_ option: Int32, _ value: Int32) {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        _ = mallopt(option, value)
    }

    /// The process's memory as the system and glibc see it, for `/metrics`: resident bytes (`/proc/self/statm`),
    /// heap bytes in use and heap bytes free but kept by malloc (`mallinfo2`, summed over arenas).
    public struct Statistics: Sendable {
        public var residentBytes: Int
        public var heapInUseBytes: Int?
        public var heapFreeBytes: Int?
    }

    public static func statistics() -> Statistics {
        var resident = 0
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { resident = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        var inUse = 0
        var free = 0
        guard tern_heap_statistics(&inUse, &free) != 0 else { return Statistics(residentBytes: resident) }
        return Statistics(residentBytes: resident, heapInUseBytes: inUse, heapFreeBytes: free)
    }

    /// Trims at least every `interval`, and sooner (checked at most every 2 s) once malloc keeps more than
    /// `freeAbove` bytes free: a burst's freed memory otherwise stays in RSS until the next interval.
    public static func releaseIfDue(every interval: Duration = .seconds(10), freeAbove: Int = 16 << 20) {
        let now = ContinuousClock.now
        let due = last.withLock { state in
            if state.trimmed.map({ now - $0 >= interval }) ?? true {
                state.trimmed = now
                state.checked = now
                return true
            }
            guard state.checked.map({ now - $0 >= .seconds(2) }) ?? true else { return false }
            state.checked = now
            var inUse = 0
            var free = 0
            guard tern_heap_statistics(&inUse, &free) != 0, free > freeAbove else { return false }
            state.trimmed = now
            return true
        }
        if due, let trim { _ = trim(0) }
    }
}
