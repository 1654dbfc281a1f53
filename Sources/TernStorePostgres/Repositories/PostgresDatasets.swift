import Foundation
import Logging
import PostgresNIO
import TernCore

struct PostgresDatasets: DatasetRepository {
    let client: PostgresClient
    let logger: Logger
    static let itemColumns = "item_id, input, expected_output, metadata, golden, validated_by, validated_at, source_trace_id"

    static func dataset(_ row: PostgresRow) throws -> Dataset {
        let (id, project, name, description, created, latest) = try row.decode((String, String, String, String?, Int64, Int).self)
        return Dataset(id: id, projectID: project, name: name, description: description, createdAt: Timestamp.date(created), latestVersion: latest)
    }

    static func item(_ row: PostgresRow) throws -> DatasetItem {
        let (id, input, expected, metadata, golden, validatedBy, validatedAt, source) = try row.decode(
            (String, String, String?, String?, Int, String?, Int64?, String?).self)
        return DatasetItem(
            id: id, input: JSONValue.fromStored(input)?.object ?? [:], expectedOutput: expected,
            metadata: JSONValue.fromStored(metadata)?.object ?? [:], golden: golden != 0, validatedBy: validatedBy,
            validatedAt: validatedAt.date, sourceTraceID: source)
    }

    static let datasetColumns = "id, project_id, name, description, created_at, latest_version"

    func create(projectID: String, name: String, description: String?) async throws -> Dataset {
        try Validate.datasetName(name)
        let dataset = Dataset(id: TernID.make(), projectID: projectID, name: name, description: description, createdAt: Timestamp.now(), latestVersion: 0)
        do {
            try await client.mappedQuery(
                """
                INSERT INTO datasets (id, project_id, name, description, created_at, latest_version)
                VALUES (\(dataset.id), \(projectID), \(name), \(description), \(Timestamp.micros(dataset.createdAt)), 0)
                """, logger: logger)
        } catch let error as TernError where error.code == "unique_violation" {
            throw TernError.conflict("a dataset named \"\(name)\" already exists", field: "name")
        }
        return dataset
    }

    func get(projectID: String, name: String) async throws -> Dataset? {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.datasetColumns) FROM datasets WHERE project_id = \(projectID) AND name = \(name)", logger: logger), Self.dataset
        ).first
    }

    func list(projectID: String) async throws -> [Dataset] {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.datasetColumns) FROM datasets WHERE project_id = \(projectID) ORDER BY name", logger: logger), Self.dataset)
    }

    func apply(
        projectID: String, dataset name: String, upserts: [DatasetItem], removals: [String], author: String,
        message: String?
    ) async throws -> DatasetVersion? {
        do {
            return try await client.mappedTransaction(logger: logger) { connection in
                // The row lock serialises changes to one dataset.
                guard
                    let dataset = try await collect(
                        connection.query(
                            "SELECT \(unescaped: Self.datasetColumns) FROM datasets WHERE project_id = \(projectID) AND name = \(name) FOR UPDATE",
                            logger: logger), Self.dataset
                    ).first
                else { throw TernError.notFound("dataset \(name)") }
                let next = dataset.latestVersion + 1
                var added = 0
                var changed = 0
                var removed = 0
                var seen = Set<String>()
                for item in upserts {
                    guard seen.insert(item.id).inserted else { throw TernError.invalid("items", "item id \(item.id) appears twice in one change") }
                    let existing = try await collect(
                        connection.query(
                            "SELECT \(unescaped: Self.itemColumns) FROM dataset_items WHERE dataset_id = \(dataset.id) AND item_id = \(item.id) AND valid_to IS NULL",
                            logger: logger), Self.item
                    ).first
                    if let existing, existing.sameContent(as: item) { continue }
                    if existing != nil {
                        try await connection.query(
                            "UPDATE dataset_items SET valid_to = \(next) WHERE dataset_id = \(dataset.id) AND item_id = \(item.id) AND valid_to IS NULL",
                            logger: logger)
                        changed += 1
                    } else {
                        added += 1
                    }
                    try await connection.query(
                        """
                        INSERT INTO dataset_items (dataset_id, valid_from, valid_to, \(unescaped: Self.itemColumns))
                        VALUES (\(dataset.id), \(next), NULL, \(item.id), \(JSONValue.object(item.input).jsonString()), \(item.expectedOutput),
                                \(item.metadata.isEmpty ? nil : JSONValue.object(item.metadata).jsonString()), \(item.golden ? 1 : 0),
                                \(item.validatedBy), \(item.validatedAt.map(Timestamp.micros)), \(item.sourceTraceID))
                        """, logger: logger)
                }
                for id in Set(removals) where !seen.contains(id) {
                    for try await _ in try await connection.query(
                        "UPDATE dataset_items SET valid_to = \(next) WHERE dataset_id = \(dataset.id) AND item_id = \(id) AND valid_to IS NULL RETURNING item_id",
                        logger: logger)
                    { removed += 1 }
                }
                guard added + changed + removed > 0 else { return nil }
                var previous = 0
                for try await count in try await connection.query(
                    "SELECT item_count FROM dataset_versions WHERE dataset_id = \(dataset.id) AND version = \(dataset.latestVersion)", logger: logger
                ).decode(Int.self) { previous = count }
                let version = DatasetVersion(
                    version: next, itemCount: previous + added - removed, added: added, changed: changed, removed: removed,
                    author: author, message: message, createdAt: Timestamp.now())
                try await connection.query(
                    """
                    INSERT INTO dataset_versions (dataset_id, version, item_count, added, changed, removed, author, message, created_at)
                    VALUES (\(dataset.id), \(next), \(version.itemCount), \(added), \(changed), \(removed), \(author), \(message),
                            \(Timestamp.micros(version.createdAt)))
                    """, logger: logger)
                try await connection.query("UPDATE datasets SET latest_version = \(next) WHERE id = \(dataset.id)", logger: logger)
                return version
            }
        } catch let error as PSQLError {
            throw mapPostgresError(error)
        }
    }

    func items(projectID: String, dataset name: String, version: Int?, after: String?, limit: Int) async throws -> [DatasetItem] {
        guard let dataset = try await get(projectID: projectID, name: name) else { throw TernError.notFound("dataset \(name)") }
        let at = version ?? dataset.latestVersion
        guard at >= 0, at <= dataset.latestVersion else { throw TernError.notFound("dataset \(name) version \(at)", field: "version") }
        return try await collect(
            client.mappedQuery(
                """
                SELECT \(unescaped: Self.itemColumns) FROM dataset_items WHERE dataset_id = \(dataset.id) AND valid_from <= \(at)
                AND (valid_to IS NULL OR valid_to > \(at)) AND item_id COLLATE "C" > \(after ?? "") ORDER BY item_id COLLATE "C" LIMIT \(max(1, limit))
                """, logger: logger), Self.item)
    }

    func versions(projectID: String, dataset name: String) async throws -> [DatasetVersion] {
        guard let dataset = try await get(projectID: projectID, name: name) else { throw TernError.notFound("dataset \(name)") }
        return try await collect(
            client.mappedQuery(
                """
                SELECT version, item_count, added, changed, removed, author, message, created_at FROM dataset_versions
                WHERE dataset_id = \(dataset.id) ORDER BY version DESC
                """, logger: logger)
        ) { row in
            let (version, count, added, changed, removed, author, message, created) = try row.decode((Int, Int, Int, Int, Int, String, String?, Int64).self)
            return DatasetVersion(
                version: version, itemCount: count, added: added, changed: changed, removed: removed, author: author,
                message: message, createdAt: Timestamp.date(created))
        }
    }
}
