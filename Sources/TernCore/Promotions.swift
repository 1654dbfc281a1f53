public import Foundation

/// A gated move of a prompt label (the response loop's last step): which version took the label, from
/// which, on the strength of which experiment run, by whom and when; refused attempts are kept too, with
/// the items that regressed.
public struct PromptPromotion: Sendable, Equatable, Identifiable {
    public enum Outcome: String, Sendable, Equatable, CaseIterable {
        case promoted
        case refused
    }

    public var id: String
    public var projectID: String
    public var prompt: String
    public var label: String
    public var fromVersion: Int?
    public var toVersion: Int
    public var experimentID: String
    public var outcome: Outcome
    /// Pairs compared and regressions found (their item ids, models and scores as JSON).
    public var compared: Int
    public var regressions: JSONValue
    public var actor: String
    public var at: Date

    public init(
        id: String, projectID: String, prompt: String, label: String, fromVersion: Int?, toVersion: Int, experimentID: String, outcome: Outcome,
        compared: Int, regressions: JSONValue, actor: String, at: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.prompt = prompt
        self.label = label
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.experimentID = experimentID
        self.outcome = outcome
        self.compared = compared
        self.regressions = regressions
        self.actor = actor
        self.at = at
    }

    public var json: JSONValue {
        [
            "id": .string(id), "prompt": .string(prompt), "label": .string(label), "from_version": fromVersion.map { .number(Double($0)) } ?? .null,
            "to_version": .number(Double(toVersion)), "experiment_id": .string(experimentID), "outcome": .string(outcome.rawValue),
            "compared": .number(Double(compared)), "regressions": regressions, "actor": .string(actor),
            "at": .string(at.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
        ]
    }
}

public protocol PromotionRepository: Sendable {
    func record(_ promotion: PromptPromotion) async throws
    /// The prompt's promotions and refusals, newest first.
    func list(projectID: String, prompt: String, limit: Int) async throws -> [PromptPromotion]
}
