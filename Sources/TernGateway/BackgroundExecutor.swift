import Foundation
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

    /// `niceness` lowers the thread's scheduling priority on Linux (0 keeps it).
    public init(name: String, niceness: Int32 = 0) {
        let thread = Thread { [unowned self] in
            Self.renice(niceness)
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
