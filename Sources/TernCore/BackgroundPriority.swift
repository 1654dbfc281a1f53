import Synchronization

/// Whether background writers (the trace writer's inserts) should yield the CPU to request handling.
///
/// On a machine with few cores, a batch insert running at normal priority delays requests that wake on
/// its core by up to a scheduler slice (measured: p99 added latency 1.5 ms instead of 0.7 ms on 2 cores).
/// Stores run such batches at the lowest (idle) scheduling priority while this is true; the trace writer
/// turns it off when its queue backs up, so under saturation traces still get written.
public enum BackgroundPriority {
    private static let idle = Atomic<Bool>(true)

    public static var yieldsToRequests: Bool { idle.load(ordering: .relaxed) }

    public static func set(yieldsToRequests: Bool) { idle.store(yieldsToRequests, ordering: .relaxed) }

    /// True inside the trace writer's inserts: only those yield. Ingest requests (REST, OTLP) write at
    /// normal priority, since a client waits for them.
    @TaskLocal public static var isBackgroundWrite = false

    /// Whether the write starting now should run at idle priority.
    public static var writeShouldYield: Bool { isBackgroundWrite && yieldsToRequests }
}
