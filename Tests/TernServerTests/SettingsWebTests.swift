import Foundation
import HTTPTypes
import TernCore
import TernServer
import TernTestSupport
import Testing

/// Settings pages: API keys, members and roles, models and prices.
@Suite("Web UI: settings")
struct SettingsWebTests {
    @Test(
        "API keys: created with limits and shown once (hashed at rest, working at once), limits changed by an admin, spend shown, revoked",
        arguments: StoreKind.available)
    func keys(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let admin = try await Web.signIn(h, email: "root@example.com", name: "Root", role: "admin")
            let page = try await Web.get(h, "/ui/default/settings/keys", cookie: admin)
            #expect(page.status == .ok && page.text.contains(#"id="keys-table""#) && page.text.contains("<td>admin</td>"), "the harness's key is listed")
            #expect(page.text.contains(#"id="nav-settings" href="/ui/default/settings" aria-current="page""#))
            let token = try Web.csrf(page.text)

            let created = try await Web.post(
                h, "/ui/default/settings/keys", cookie: admin,
                [("csrf", token), ("name", "app <b>"), ("role", "member"), ("rpm", "60"), ("tpm", ""), ("budget_usd", "5"), ("budget_period", "month")])
            #expect(created.status == .ok, "\(created.text.prefix(400))")
            let secret = try #require(created.text.range(of: #"<pre id="key-secret">"#).map { String(created.text[$0.upperBound...].prefix { $0 != "<" }) })
            #expect(Secrets.looksLikeAPIKey(secret))
            #expect(created.text.contains("app &lt;b&gt;"), "the name is escaped")
            let stored = try #require(try await h.store.apiKeys.find(hash: Secrets.hash(secret)))
            #expect(stored.limits.requestsPerMinute == 60 && stored.limits.budgetUSD == 5 && stored.createdBy?.hasPrefix("user:") == true)
            #expect(try await h.call(.get, "/api/v1/me", key: secret).status == .ok, "the key works at once")
            let again = try await Web.get(h, "/ui/default/settings/keys", cookie: admin)
            #expect(!again.text.contains(secret), "the secret is shown once")
            #expect(again.text.contains("$0 of $5.0000 this month"), "spend against the budget: \(again.text)")

            let limited = try await Web.post(
                h, "/ui/default/settings/keys/\(stored.id)/limits", cookie: admin,
                [("csrf", token), ("rpm", "120"), ("tpm", "5000"), ("budget_usd", ""), ("budget_period", "day")])
            #expect(limited.status == .seeOther)
            let changed = try #require(try await h.store.apiKeys.get(projectID: h.project.id, id: stored.id))
            #expect(changed.limits.requestsPerMinute == 120 && changed.limits.tokensPerMinute == 5000 && changed.limits.budgetUSD == nil)
            let bad = try await Web.post(h, "/ui/default/settings/keys", cookie: admin, [("csrf", token), ("name", "x"), ("rpm", "lots")])
            #expect(bad.status == .badRequest && bad.text.contains("requests per minute: expected a whole number"))

            // A member creates keys up to their role and revokes; limits need an admin; a viewer only reads.
            let member = try await Web.signIn(h, email: "mia@example.com", name: "Mia", role: "member")
            let memberToken = try Web.csrf(try await Web.get(h, "/ui/default/settings/keys", cookie: member).text)
            let tooHigh = try await Web.post(h, "/ui/default/settings/keys", cookie: member, [("csrf", memberToken), ("name", "x"), ("role", "admin")])
            #expect(tooHigh.status == .badRequest && tooHigh.text.contains("cannot create a key with the admin role"))
            #expect(
                try await Web.post(h, "/ui/default/settings/keys/\(stored.id)/limits", cookie: member, [("csrf", memberToken), ("rpm", "1")]).status
                    == .forbidden)
            let revoked = try await Web.post(h, "/ui/default/settings/keys/\(stored.id)/revoke", cookie: member, [("csrf", memberToken)])
            #expect(revoked.status == .seeOther)
            #expect(try await h.call(.get, "/api/v1/me", key: secret).status == .unauthorized, "a revoked key stops working")
            // Another project's key cannot be reached through this project's pages.
            let other = try await h.store.projects.create(slug: "other", name: "Other")
            let (otherSecret, otherKey) = try await KeyIssuer.issue(store: h.store, projectID: other.id, name: "theirs", role: .member, createdBy: "test")
            #expect(try await Web.post(h, "/ui/default/settings/keys/\(otherKey.id)/revoke", cookie: admin, [("csrf", token)]).status == .notFound)
            #expect(
                try await Web.post(h, "/ui/default/settings/keys/\(otherKey.id)/limits", cookie: admin, [("csrf", token), ("rpm", "1")]).status == .notFound)
            #expect(try await h.store.apiKeys.get(projectID: other.id, id: otherKey.id)?.revokedAt == nil)
            #expect(try await h.store.apiKeys.get(projectID: other.id, id: otherKey.id)?.limits.requestsPerMinute == nil)
            #expect(try await h.call(.get, "/api/v1/me", key: otherSecret).status == .ok)
            #expect(!(try await Web.get(h, "/ui/default/settings/keys", cookie: admin).text.contains("theirs")), "the list is this project's")
            let viewer = try await Web.signIn(h, email: "vic@example.com", name: "Vic", role: "viewer")
            let viewerPage = try await Web.get(h, "/ui/default/settings/keys", cookie: viewer)
            #expect(viewerPage.status == .ok && !viewerPage.text.contains(#"id="key-form""#))
            let viewerToken = try Web.csrf(viewerPage.text)
            #expect(try await Web.post(h, "/ui/default/settings/keys", cookie: viewer, [("csrf", viewerToken), ("name", "x")]).status == .forbidden)
            #expect(try await Web.post(h, "/ui/default/settings/keys", cookie: admin, [("csrf", "forged"), ("name", "x")]).status == .forbidden)
        }
    }

    @Test("members: an admin adds users and changes roles, never removing the last admin; others only read")
    func members() async throws {
        try await withHarness { h in
            let admin = try await Web.signIn(h, email: "root@example.com", name: "Root", role: "admin")
            let page = try await Web.get(h, "/ui/default/settings/members", cookie: admin)
            #expect(page.text.contains(#"id="member-form""#) && page.text.contains("root@example.com"))
            let token = try Web.csrf(page.text)
            let added = try await Web.post(
                h, "/ui/default/settings/members", cookie: admin,
                [("csrf", token), ("email", "new@example.com"), ("name", "New"), ("role", "viewer"), ("password", Web.password)])
            #expect(added.status == .ok && added.text.contains("Added new@example.com as viewer."), "\(added.text.prefix(300))")
            let newUser = try #require(try await h.store.users.get(email: "new@example.com"))
            #expect(newUser.role == .viewer)
            let short = try await Web.post(
                h, "/ui/default/settings/members", cookie: admin, [("csrf", token), ("email", "x@example.com"), ("role", "member"), ("password", "short")])
            #expect(short.status == .badRequest && short.text.contains(#"id="members-error""#))
            #expect(
                try await Web.post(h, "/ui/default/settings/members/\(newUser.id)/role", cookie: admin, [("csrf", token), ("role", "member")]).status
                    == .seeOther)
            #expect(try await h.store.users.get(id: newUser.id)?.role == .member)
            let root = try #require(try await h.store.users.get(email: "root@example.com"))
            let last = try await Web.post(h, "/ui/default/settings/members/\(root.id)/role", cookie: admin, [("csrf", token), ("role", "viewer")])
            #expect(last.status == .conflict && last.text.contains("is the last admin"))
            #expect(try await h.store.users.get(id: root.id)?.role == .admin)
            let member = try await Web.signIn(h, email: "new@example.com", create: false)
            let memberPage = try await Web.get(h, "/ui/default/settings/members", cookie: member)
            #expect(memberPage.status == .ok && !memberPage.text.contains(#"id="member-form""#) && !memberPage.text.contains("<select name=\"role\""))
            let memberToken = try Web.csrf(memberPage.text)
            #expect(
                try await Web.post(h, "/ui/default/settings/members/\(root.id)/role", cookie: member, [("csrf", memberToken), ("role", "viewer")]).status
                    == .forbidden)
        }
    }

    @Test("models and prices: each deployment with the price it is costed at and where that comes from")
    func models() async throws {
        try await withGateway { g in
            let cookie = try await Web.signIn(g.h, email: "root@example.com", name: "Root", role: "admin")
            let page = try await Web.get(g.h, "/ui/default/settings/models", cookie: cookie)
            #expect(page.status == .ok && page.text.contains(#"id="models-table""#))
            #expect(
                page.text.contains("<td>support-bot</td><td>small</td>")
                    && page.text.contains(#"<td class="num">$1000</td><td class="num">$2000</td><td>the deployment</td>"#), "\(page.text)")
            #expect(page.text.contains("claude-3-5-haiku-latest") && page.text.contains("built-in table"))
            #expect(page.text.contains(#"all-minilm-l6-v2</td><td class="num">$0</td><td class="num">$0</td>"#), "the local model costs nothing")
        }
    }
}
