import Foundation
public import TernCore

/// Settings: the project's API keys (create, limits, spend, revoke), the members and their roles, and
/// the gateway's models with their prices.
extension Views {
    /// A tab of a section's pages (settings, monitoring).
    public struct SettingsTab: ViewModel {
        public var label: String
        public var href: String
        public var active: Bool
    }

    static func settingsTabs(_ chrome: Chrome, active: String) -> [SettingsTab] {
        let base = "/ui/\(percent(chrome.project.slug))/settings"
        return [("keys", "API keys"), ("members", "Members and roles"), ("models", "Models and prices")].map {
            SettingsTab(label: $0.1, href: "\(base)/\($0.0)", active: $0.0 == active)
        }
    }

    public struct KeysView: ViewModel {
        public struct Row: ViewModel {
            public var id: String
            public var name: String
            public var prefix: String
            public var role: String
            public var scopes: String
            public var rpm: String
            public var tpm: String
            public var budget: String
            public var budgetPeriodDay: Bool
            public var spend: String
            public var created: String
            public var lastUsed: String
            public var revoked: Bool
            public var revokeAction: String
            public var limitsAction: String
        }

        public var tabs: [SettingsTab]
        public var rows: [Row]
        public var action: String
        /// The roles a new key may have: the signed-in user's and below.
        public var roles: [Option]
        public var canCreate: Bool
        public var canEditLimits: Bool
        /// The secret of the key just created, shown this once.
        public var created: String?
        public var createdName: String?
        public var error: String?
    }

    /// `spend` holds what each budgeted key spent in its current period.
    public static func keys(
        chrome: Chrome, keys: [APIKey], spend: [String: Double], userRole: Role, created: (name: String, secret: String)? = nil,
        error: String? = nil
    ) -> Page<KeysView> {
        let base = "/ui/\(percent(chrome.project.slug))/settings/keys"
        let rows = keys.sorted { ($0.revokedAt == nil ? 0 : 1, $1.createdAt) < ($1.revokedAt == nil ? 0 : 1, $0.createdAt) }.map { key in
            KeysView.Row(
                id: key.id, name: key.name, prefix: key.prefix + "…", role: key.role.rawValue, scopes: key.scopes.map(\.rawValue).joined(separator: ", "),
                rpm: key.limits.requestsPerMinute.map(String.init) ?? "", tpm: key.limits.tokensPerMinute.map(String.init) ?? "",
                budget: key.limits.budgetUSD.map { String(format: "%.2f", $0) } ?? "", budgetPeriodDay: key.limits.budgetPeriod == .day,
                spend: key.limits.budgetUSD.map { budget in
                    "\(Format.cost(spend[key.id] ?? 0)) of \(Format.cost(budget)) this \(key.limits.budgetPeriod.rawValue)"
                } ?? "no budget",
                created: Format.time(key.createdAt), lastUsed: key.lastUsedAt.map(Format.time) ?? "never", revoked: key.revokedAt != nil,
                revokeAction: "\(base)/\(percent(key.id))/revoke", limitsAction: "\(base)/\(percent(key.id))/limits")
        }
        let roles = [Role.viewer, .member, .admin].filter { $0 <= userRole }
        return chrome.page(
            "API keys",
            KeysView(
                tabs: settingsTabs(chrome, active: "keys"), rows: rows, action: base,
                roles: roles.map { Option(value: $0.rawValue, label: $0.rawValue, selected: $0 == .member) }, canCreate: userRole != .viewer,
                canEditLimits: userRole == .admin, created: created?.secret, createdName: created?.name, error: error))
    }

    public struct MembersView: ViewModel {
        public struct Row: ViewModel {
            public var id: String
            public var email: String
            public var name: String
            public var role: String
            public var roles: [Option]
            public var disabled: Bool
            public var created: String
            public var action: String
        }

        public var tabs: [SettingsTab]
        public var rows: [Row]
        public var isAdmin: Bool
        public var createAction: String
        public var error: String?
        public var notice: String?
    }

    public static func members(chrome: Chrome, users: [User], isAdmin: Bool, error: String? = nil, notice: String? = nil) -> Page<MembersView> {
        let base = "/ui/\(percent(chrome.project.slug))/settings/members"
        return chrome.page(
            "Members and roles",
            MembersView(
                tabs: settingsTabs(chrome, active: "members"),
                rows: users.sorted { $0.email < $1.email }.map { user in
                    MembersView.Row(
                        id: user.id, email: user.email, name: user.name, role: user.role.rawValue,
                        roles: [Role.admin, .member, .viewer].map { Option(value: $0.rawValue, label: $0.rawValue, selected: $0 == user.role) },
                        disabled: user.disabledAt != nil, created: Format.time(user.createdAt), action: "\(base)/\(percent(user.id))/role")
                }, isAdmin: isAdmin, createAction: base, error: error, notice: notice))
    }

    public struct ModelsView: ViewModel {
        public struct Row: ViewModel {
            public var model: String
            public var deployment: String
            public var provider: String
            public var upstream: String
            public var input: String
            public var output: String
            public var priceSource: String
            public var routing: String
        }

        public var tabs: [SettingsTab]
        public var rows: [Row]
    }

    /// Each deployment of each model with the price per million tokens it is costed at: its own from
    /// tern.yaml, the built-in table's, or none (calls are then not costed).
    public static func models(
        chrome: Chrome, models: [ModelConfig], providers: [String: ProviderConfig], price: (DeploymentConfig) -> (Price?, String)
    ) -> Page<ModelsView> {
        var rows: [ModelsView.Row] = []
        for model in models.sorted(by: { $0.name < $1.name }) {
            for (index, deployment) in model.deployments.enumerated() {
                let (found, source) = price(deployment)
                let split = model.routing.split.map { "\($0.key) \($0.value)%" }.sorted().joined(separator: ", ")
                rows.append(
                    ModelsView.Row(
                        model: index == 0 ? model.name : "", deployment: deployment.name,
                        provider: "\(deployment.provider) (\(providers[deployment.provider]?.type.rawValue ?? "?"))", upstream: deployment.model,
                        input: found.map { "$" + String(format: "%.4g", $0.inputPerMTok) } ?? "–",
                        output: found.map { "$" + String(format: "%.4g", $0.outputPerMTok) } ?? "–", priceSource: source,
                        routing: index == 0 ? (split.isEmpty ? "" : "split \(split)") : ""))
            }
        }
        return chrome.page("Models and prices", ModelsView(tabs: settingsTabs(chrome, active: "models"), rows: rows))
    }
}
