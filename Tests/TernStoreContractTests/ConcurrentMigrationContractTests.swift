import Foundation
import TernCore
import TernStorePostgres
import TernTestSupport
import Testing

/// Replicas starting at once against one fresh PostgreSQL database: the advisory lock lets one of them
/// apply the migrations and the others find them applied.
@Suite("Storage contract: concurrent PostgreSQL migrations")
struct ConcurrentMigrationContractTests {
    @Test(
        "four stores migrating one empty database at once apply every migration exactly once", .enabled(if: StoreKind.available.contains(.postgres)),
        .timeLimit(.minutes(2)))
    func concurrentMigrations() async throws {
        try await withTestStore(.postgres, migrate: false) { test in
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let store = try PostgresStore(url: test.location, maxConnections: 2, logger: .quiet)
                        return try await withThrowingTaskGroup(of: [String]?.self) { running in
                            running.addTask {
                                try await store.run()
                                return nil
                            }
                            defer { running.cancelAll() }
                            return try await store.migrate()
                        }
                    }
                }
                var all: [[String]] = []
                for try await list in group { all.append(list) }
                return all
            }
            // Exactly one replica applied the migrations; the others found nothing left to do.
            #expect(applied.filter { !$0.isEmpty }.count == 1, "\(applied)")
            let everything = try #require(applied.first { !$0.isEmpty })
            #expect(everything.first == "0001_foundation" && everything.count == Set(everything).count)
            // The schema works: a fifth start has nothing to do, and the store takes writes.
            #expect(try await test.store.migrate().isEmpty)
            let project = try await test.store.projects.create(slug: "p", name: "P")
            #expect(try await test.store.projects.get(slug: "p")?.id == project.id)
        }
    }
}
