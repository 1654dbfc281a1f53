import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TernCore
import TernWeb
import TernGateway
import TernMonitor

/// The web UI under `/ui`: server-rendered pages signed in with a user account (session cookie).
/// Forms that change data carry a CSRF token derived from the session; every page sends a
/// Content-Security-Policy that allows Tern's own script only.
struct WebController {
    let store: any TernStore
    let authenticator: Authenticator
    let renderer: WebRenderer
    let sessionTTL: Duration
    let maxBody: Int
    let throttle: LoginThrottle
    let secureCookies: Bool
    /// The gateway's models, for the examples of the empty pages.
    let models: ModelRegistry

    static let stylesheet = WebAssets.stylesheet
    static let script = WebAssets.script

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let router = RouteCollection(context: TernRequestContext.self)
        router.get("/", use: getRoot)
        router.get("ui/static/tern.css", use: getStylesheet)
        router.get("ui/static/tern.js", use: getScript)
        router.get("ui", use: getUI)
        router.get("ui/login", use: getLogin)
        router.post("ui/login", use: postLogin)
        router.post("ui/logout", use: postLogout)
        router.get("ui/switch", use: getSwitch)
        router.get("ui/{project}/dashboard", use: getDashboard)
        router.get("ui/{project}/traces", use: getTraces)
        router.get("ui/{project}/traces/{trace}", use: getTrace)
        router.post("ui/{project}/traces/{trace}/scores", use: postTraceScores)
        router.get("ui/{project}/sessions", use: getSessions)
        router.get("ui/{project}/sessions/{session}", use: getSession)
        router.get("ui/{project}/users", use: getUsers)
        return router
    }

    // MARK: - Pages

    /// Resolves the signed-in user and the project, then renders; signed-out visitors go to the
    /// sign-in page and come back; errors become an HTML page with the right status.
    func page(
        _ request: Request, _ context: TernRequestContext, active: String, form: Bool = false,
        _ body: (Chrome) async throws -> Response
    ) async throws -> Response {
        guard let (user, token, _) = await viewer(request) else {
            if form { return Self.redirect("/ui/login") }
            return Self.redirect(Views.url("/ui/login", [("next", request.uri.description)]))
        }
        do {
            let slug = try context.parameters.string("project")
            let projects = try await store.projects.list()
            guard let project = projects.first(where: { $0.slug == slug }) else { throw TernError.notFound("project \"\(slug)\"") }
            let chrome = Chrome(
                project: project, projects: projects, userName: user.name.isEmpty ? user.email : user.name, csrf: Self.csrf(token),
                active: active)
            do {
                return try await body(chrome)
            } catch let error as TernError where error.kind != .internal {
                let message = error.field.map { "\($0): \(error.message)" } ?? error.message
                return html(renderer.render("layout", chrome.page("Error", NoContent(), flash: .error(message))), status: error.kind.status)
            }
        } catch let error as TernError where error.kind == .notFound {
            return html(renderer.plain("layout", title: "Not found", flash: .error(error.message)), status: .notFound)
        }
    }

    /// The signed-in user, their session token and session id, from the cookie.
    func viewer(_ request: Request) async -> (User, String, String)? {
        guard let token = Authenticator.cookie(named: Authenticator.sessionCookie, in: request),
            case .user(let user, let sessionID)? = try? await authenticator.session(token: token)
        else { return nil }
        return (user, token, sessionID)
    }

    static func csrf(_ sessionToken: String) -> String { Secrets.hash("csrf:" + sessionToken) }

    func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    static func asset(_ text: String, type: String, _ request: Request) -> Response {
        let tag = "\"" + String(Secrets.hash(text).prefix(16)) + "\""
        if request.headers[.ifNoneMatch] == tag { return Response(status: .notModified, headers: [.eTag: tag]) }
        return Response(
            status: .ok, headers: [.contentType: type, .eTag: tag, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Only local paths under /ui are followed after sign-in (no open redirects).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui/"), !next.hasPrefix("//"), !next.contains("\\"), !next.hasPrefix("/ui/login") else { return "/ui/" }
        return next
    }

    static func pairs(_ parameters: Parameters) -> [(String, String)] {
        parameters.map { (String($0.key), String($0.value)) }
    }

    /// An `application/x-www-form-urlencoded` body as a dictionary (the first value of each name).
    static func form(_ request: Request, limit: Int) async throws -> [String: String] {
        let data = try await JSON.collect(request, limit: limit)
        var out: [String: String] = [:]
        for pair in String(decoding: data, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            let key = decode(parts[0])
            if out[key] == nil { out[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return out
    }
}

// MARK: - Handlers

extension WebController {
    /// `GET /`: the UI.
    @Sendable func getRoot(_ request: Request, context: TernRequestContext) async throws -> Response {
        Self.redirect("/ui/")
    }

    /// `GET /ui/static/tern.css`
    @Sendable func getStylesheet(_ request: Request, context: TernRequestContext) async throws -> Response {
        Self.asset(Self.stylesheet, type: "text/css; charset=utf-8", request)
    }

    /// `GET /ui/static/tern.js`
    @Sendable func getScript(_ request: Request, context: TernRequestContext) async throws -> Response {
        Self.asset(Self.script, type: "text/javascript; charset=utf-8", request)
    }

    /// `GET /ui`: the default project's dashboard, or the sign-in page.
    @Sendable func getUI(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        guard let viewer = await viewer(request) else { return Self.redirect("/ui/login") }
        _ = viewer
        let projects = try await store.projects.list()
        let slug = projects.first { $0.slug == Bootstrap.defaultProjectSlug }?.slug ?? projects.first?.slug ?? Bootstrap.defaultProjectSlug
        return Self.redirect("/ui/\(Views.percent(slug))/dashboard")
    }

    /// `GET /ui/login`
    @Sendable func getLogin(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        if await viewer(request) != nil { return Self.redirect(Self.safeNext(request.uri.queryParameters.get("next"))) }
        return html(renderer.plain("login", title: "Sign in", SignInView(next: Self.safeNext(request.uri.queryParameters.get("next")), email: "")))
    }

    /// `POST /ui/login`
    @Sendable func postLogin(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let form = try await Self.form(request, limit: maxBody)
        let next = Self.safeNext(form["next"])
        do {
            let (user, token, _) = try await UsersController.signIn(
                store: store, email: form["email"] ?? "", password: form["password"] ?? "", ttl: sessionTTL,
                throttle: throttle, address: context.clientAddress)
            context.logger.info("signed in to the UI", metadata: ["user_id": .string(user.id)])
            var response = Self.redirect(next)
            response.headers[.setCookie] = Authenticator.sessionCookieHeader(token: token, maxAge: sessionTTL.components.seconds, secure: secureCookies)
            return response
        } catch let error as TernError where error.kind == .unauthorized || error.kind == .rateLimited {
            var response = html(
                renderer.plain("login", title: "Sign in", flash: .error(error.message), SignInView(next: next, email: form["email"] ?? "")),
                status: error.kind == .rateLimited ? .tooManyRequests : .unauthorized)
            if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
            return response
        }
    }

    /// `POST /ui/logout`
    @Sendable func postLogout(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let form = try await Self.form(request, limit: maxBody)
        // Signing out ends the session itself, not only the cookie; without the form's token nothing
        // changes (a cross-site form cannot sign anyone out, and a stolen cookie is not left valid by
        // a sign-out that seemed to work).
        if let (_, token, sessionID) = await viewer(request) {
            guard form["csrf"] == Self.csrf(token) else {
                throw TernError.forbidden("signing out needs the page's form token; use the Sign out button")
            }
            try await store.sessions.delete(id: sessionID)
        }
        var response = Self.redirect("/ui/login")
        response.headers[.setCookie] = Authenticator.sessionCookieHeader(token: "", maxAge: 0, secure: secureCookies)
        return response
    }

    /// `GET /ui/switch`
    @Sendable func getSwitch(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        Self.redirect("/ui/\(Views.percent(request.uri.queryParameters.get("project") ?? Bootstrap.defaultProjectSlug))/dashboard")
    }

    /// `GET /ui/{project}/dashboard`
    @Sendable func getDashboard(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "dashboard") { chrome in
            let parameters = request.uri.queryParameters
            let range = RangeChoice.named(parameters.get("range"))
            let bucket = parameters.get("bucket").flatMap(MetricsBucket.init(rawValue:)) ?? range.bucket
            let segment =
                parameters.get("segment").flatMap(MetricsDimension.init(rawValue:)).flatMap { Views.dashboardSegments.contains($0) ? $0 : nil } ?? .model
            let to = Date()
            var filter = TraceFilter(from: to.addingTimeInterval(-range.seconds), to: to)
            filter.includeInternal = Self.includeInternal(request)
            async let overall = MetricsEngine.run(MetricsQuery(filter: filter, bucket: bucket), projectID: chrome.project.id, repository: store.metrics)
            async let bySegment = MetricsEngine.run(
                MetricsQuery(filter: filter, bucket: bucket, groupBy: segment, groupLimit: 12),
                projectID: chrome.project.id, repository: store.metrics)
            return html(
                renderer.render(
                    "dashboard",
                    Views.dashboard(
                        chrome: chrome, range: range, bucket: bucket, segment: segment, overall: try await overall,
                        bySegment: try await bySegment, includeInternal: filter.includeInternal,
                        firstTrace: try await isEmpty(chrome, includeInternal: filter.includeInternal)
                            ? firstTrace(request, chrome, includeInternal: filter.includeInternal, page: "dashboard") : nil, now: to)))
        }
    }

    /// `GET /ui/{project}/traces`
    @Sendable func getTraces(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "traces") { chrome in
            var parameters = Self.pairs(request.uri.queryParameters).filter { !$0.1.isEmpty || $0.0 == "q" }
            let range = parameters.last { $0.0 == "range" }?.1 ?? ""
            if range != "custom", !range.isEmpty { parameters.removeAll { $0.0 == "from" || $0.0 == "to" } }
            if range.isEmpty, parameters.contains(where: { $0.0 == "from" || $0.0 == "to" }) { parameters.append(("range", "custom")) }
            do {
                // The filter: a preset range is a `from` of now minus its length; a custom one's `datetime-local` values are UTC.
                var filterPairs = parameters.filter { $0.0 != "range" && $0.0 != "col" }.map { key, value -> (String, String) in
                    guard key == "from" || key == "to", value.count == 16, value.dropFirst(10).first == "T" else { return (key, value) }
                    return (key, value + ":00Z")
                }
                if let preset = RangeChoice.all.first(where: { $0.value == range }) {
                    filterPairs.append(("from", String(Int(Date().addingTimeInterval(-preset.seconds).timeIntervalSince1970))))
                } else if !range.isEmpty, range != "custom" {
                    throw TernError.invalid(
                        "range", "expected one of \(Views.traceRanges.map(\.value).filter { !$0.isEmpty }.joined(separator: ", ")), got \"\(range)\"")
                }
                let query = try TraceQueryParameters.query(filterPairs)
                let page = try await store.traces.list(projectID: chrome.project.id, query: query)
                var scores: [String: [Score]] = [:]
                if Views.traceColumns(parameters).contains("scores") {
                    for summary in page.traces {
                        scores[summary.trace.id] = try await store.scores.list(projectID: chrome.project.id, traceID: summary.trace.id)
                    }
                }
                return html(
                    renderer.render(
                        "traces",
                        Views.traces(
                            chrome: chrome, parameters: parameters, page: page, error: nil,
                            firstTrace: firstTrace(request, chrome, includeInternal: false, page: "traces"), scores: scores)))
            } catch let error as TernError where error.kind == .invalidInput {
                let message = error.field.map { "\($0): \(error.message)" } ?? error.message
                return html(
                    renderer.render("traces", Views.traces(chrome: chrome, parameters: parameters, page: nil, error: message)),
                    status: .badRequest)
            }
        }
    }

    /// `GET /ui/{project}/traces/{trace}`
    @Sendable func getTrace(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "traces") { chrome in
            let id = try context.parameters.string("trace")
            guard let detail = try await store.traces.get(projectID: chrome.project.id, id: id) else {
                throw TernError.notFound("trace \(id)")
            }
            let scores = try await store.scores.list(projectID: chrome.project.id, traceID: id)
            let names = try await store.scoreConfigs.list(projectID: chrome.project.id).map(\.name)
            var trace = Views.trace(chrome: chrome, detail: detail, scores: scores, scoreNames: names)
            trace.content.datasetForm = try await DatasetsWebController.addToDatasetForm(store: store, chrome: chrome, trace: detail.trace, request: request)
            return html(renderer.render("trace", trace))
        }
    }

    /// `POST /ui/{project}/traces/{trace}/scores`
    @Sendable func postTraceScores(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "traces", form: true) { chrome in
            let id = try context.parameters.string("trace")
            let form = try await Self.form(request, limit: maxBody)
            guard let (user, token, _) = await viewer(request), form["csrf"] == Self.csrf(token) else {
                throw TernError.forbidden("the form expired; reload the page and try again")
            }
            guard user.role != .viewer else { throw TernError.forbidden("viewers cannot score traces") }
            guard try await store.traces.get(projectID: chrome.project.id, id: id) != nil else { throw TernError.notFound("trace \(id)") }
            let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw TernError.invalid("name", "a score needs a name") }
            let raw = (form["value"] ?? "").trimmingCharacters(in: .whitespaces)
            let value: JSONValue =
                if let number = Double(raw) { .number(number) } else if raw.lowercased() == "true" || raw.lowercased() == "false" {
                    .bool(raw.lowercased() == "true")
                } else { .string(raw) }
            var typing = ScoreTyping(projectID: chrome.project.id, configs: store.scoreConfigs, scores: store.scores)
            let typed = try await typing.type(value, name: name, declared: nil)
            let config = typed.config
            let comment = (form["comment"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let score = Score(
                id: TernID.makeTimeOrdered(), projectID: chrome.project.id, traceID: id, name: name, dataType: typed.dataType,
                numericValue: typed.numericValue, stringValue: typed.stringValue, source: .human, comment: comment.isEmpty ? nil : comment,
                author: "user:\(user.email)", configID: config?.id, createdAt: Timestamp.now())
            try config?.validate(score)
            try await store.scores.insert([score])
            return Self.redirect("/ui/\(Views.percent(chrome.project.slug))/traces/\(Views.percent(id))#scores-table")
        }
    }

    /// `GET /ui/{project}/sessions`
    @Sendable func getSessions(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "sessions") { chrome in
            let range = RangeChoice.named(request.uri.queryParameters.get("range"), default: "7d")
            let user = request.uri.queryParameters.get("user_id").flatMap { $0.isEmpty ? nil : $0 }
            let to = Date()
            var filter = TraceFilter(from: to.addingTimeInterval(-range.seconds), to: to, userID: user)
            filter.includeInternal = Self.includeInternal(request)
            let sessions = try await store.traces.sessions(projectID: chrome.project.id, filter: filter, limit: 100)
            return html(
                renderer.render(
                    "sessions", Views.sessions(chrome: chrome, range: range, userID: user, sessions: sessions, includeInternal: filter.includeInternal)))
        }
    }

    /// `GET /ui/{project}/sessions/{session}`
    @Sendable func getSession(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "sessions") { chrome in
            let id = try context.parameters.string("session")
            let limit = 200
            let page = try await store.traces.list(
                projectID: chrome.project.id, query: TraceQuery(filter: TraceFilter(sessionID: id), ascending: true, limit: limit))
            return html(renderer.render("session", Views.session(chrome: chrome, id: id, page: page, limit: limit)))
        }
    }

    /// `GET /ui/{project}/users`
    @Sendable func getUsers(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "users") { chrome in
            let range = RangeChoice.named(request.uri.queryParameters.get("range"), default: "30d")
            let to = Date()
            let limit = 50
            var filter = TraceFilter(from: to.addingTimeInterval(-range.seconds), to: to)
            filter.includeInternal = Self.includeInternal(request)
            let result = try await MetricsEngine.run(
                MetricsQuery(filter: filter, bucket: .day, groupBy: .user, groupLimit: limit), projectID: chrome.project.id, repository: store.metrics)
            return html(
                renderer.render("users", Views.users(chrome: chrome, range: range, result: result, limit: limit, includeInternal: filter.includeInternal)))
        }
    }

    /// Whether the project has no trace at all (of production traffic, unless internal traffic is included).
    func isEmpty(_ chrome: Chrome, includeInternal: Bool) async throws -> Bool {
        var filter = TraceFilter()
        filter.includeInternal = includeInternal
        return try await store.traces.list(projectID: chrome.project.id, query: TraceQuery(filter: filter, limit: 1)).traces.isEmpty
    }

    /// How to send the first trace, with this server's URL as the browser reached it.
    func firstTrace(_ request: Request, _ chrome: Chrome, includeInternal: Bool, page: String) -> Views.FirstTraceView {
        let host = request.head.authority ?? "127.0.0.1:7777"
        let scheme = request.headers[HTTPField.Name("x-forwarded-proto")!] == "https" ? "https" : "http"
        let model = models.generative.first?.name
        return Views.FirstTraceView(
            baseURL: "\(scheme)://\(host)", project: chrome.project.slug, model: model,
            includeHref: includeInternal ? nil : "/ui/\(Views.percent(chrome.project.slug))/\(page)?include_internal=true")
    }

    /// The "include experiment and playground traffic" toggle of the dashboard, sessions and users pages.
    static func includeInternal(_ request: Request) -> Bool {
        TraceQueryParameters.flag(request.uri.queryParameters.get("include_internal")) ?? false
    }
}
