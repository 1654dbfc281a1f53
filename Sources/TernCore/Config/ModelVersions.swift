public import Foundation

/// One recorded version of a logical model's configuration. Every change (from tern.yaml, the API or
/// a rollback) appends a version; nothing is edited in place.
public struct ModelVersion: Sendable, Codable, Equatable {
    public var name: String
    public var version: Int
    public var config: ModelConfig
    /// `tern.yaml`, `user:<id>`, `key:<id>` or `cli`.
    public var author: String
    public var message: String?
    public var createdAt: Date
    /// Set when the version came from a file: a hash of the file's model entry, so an unchanged
    /// file does not add versions at every start.
    public var sourceHash: String?
    /// True when this version deletes the model.
    public var deleted: Bool

    public init(
        name: String, version: Int, config: ModelConfig, author: String, message: String?, createdAt: Date,
        sourceHash: String? = nil, deleted: Bool = false
    ) {
        self.name = name
        self.version = version
        self.config = config
        self.author = author
        self.message = message
        self.createdAt = createdAt
        self.sourceHash = sourceHash
        self.deleted = deleted
    }
}
