import Foundation
import Hummingbird
import TernCore
import TernMonitor
import TernWeb

/// The monitoring pages: watchers (with their queue, jobs and backfills; pause and resume), alerts (state,
/// history, deliveries; silence), gaps between segments and drift between two windows of traffic.
struct MonitoringWebController {
    let web: WebController
    let monitoring: MonitoringController

    var store: any TernStore { web.store }
    var renderer: WebRenderer { web.renderer }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let router = RouteCollection(context: TernRequestContext.self)
        router.get("ui/{project}/monitoring", use: getWatchers)
        router.get("ui/{project}/monitoring/watchers/{watcher}", use: getWatcher)
        router.post("ui/{project}/monitoring/watchers/{watcher}/state", use: postWatcherState)
        router.post("ui/{project}/monitoring/watchers/{watcher}/dataset", use: postWatcherDataset)
        router.get("ui/{project}/monitoring/alerts", use: getAlerts)
        router.get("ui/{project}/alerts/{alert}", use: getAlert)
        router.post("ui/{project}/alerts/{alert}/silence", use: postAlertSilence)
        router.get("ui/{project}/monitoring/probes", use: getProbes)
        router.get("ui/{project}/monitoring/gaps", use: getGaps)
        router.get("ui/{project}/monitoring/drift", use: getDrift)
        router.get("ui/{project}/monitoring/topics", use: getTopics)
        return router
    }

    func loadWatcher(_ chrome: Chrome, _ context: TernRequestContext) async throws -> Watcher {
        let id = try context.parameters.string("watcher")
        if let watcher = try await store.watchers.get(projectID: chrome.project.id, id: id) { return watcher }
        if let watcher = try await store.watchers.get(projectID: chrome.project.id, name: id) { return watcher }
        throw TernError.notFound("watcher \(id)")
    }

    func loadAlert(_ chrome: Chrome, _ context: TernRequestContext) async throws -> AlertRule {
        let id = try context.parameters.string("alert")
        if let rule = try await store.alerts.get(projectID: chrome.project.id, id: id) { return rule }
        if let rule = try await store.alerts.get(projectID: chrome.project.id, name: id) { return rule }
        throw TernError.notFound("alert \(id)")
    }

    /// The form's fields once its CSRF token and the user's role (member or more) are checked.
    func memberForm(_ request: Request, action: String) async throws -> [String: String] {
        let form = try await WebController.form(request, limit: web.maxBody)
        guard let (user, token, _) = await web.viewer(request), form["csrf"] == WebController.csrf(token) else {
            throw TernError.forbidden("the form expired; reload the page and try again")
        }
        guard user.role >= .member else { throw TernError.forbidden("\(action) needs the member role") }
        return form
    }
}

extension MonitoringWebController {
    /// `GET /ui/{project}/monitoring`: the watchers.
    @Sendable func getWatchers(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            let stats = Dictionary(uniqueKeysWithValues: try await store.watchers.stats(projectID: chrome.project.id, now: Date()).map { ($0.watcherID, $0) })
            let watchers = try await store.watchers.list(projectID: chrome.project.id)
            return web.html(renderer.render("monitoring-watchers", Views.watchers(chrome: chrome, watchers: watchers, stats: stats)))
        }
    }

    /// `GET /ui/{project}/monitoring/watchers/{watcher}`
    @Sendable func getWatcher(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            let watcher = try await loadWatcher(chrome, context)
            let stats = try await store.watchers.stats(projectID: chrome.project.id, now: Date()).first { $0.watcherID == watcher.id }
            let jobs = try await store.watchers.jobs(projectID: chrome.project.id, watcherID: watcher.id, status: nil, limit: 50)
            let backfills = try await store.watchers.backfills(projectID: chrome.project.id, watcherID: watcher.id)
            return web.html(
                renderer.render("monitoring-watcher", Views.watcher(chrome: chrome, watcher: watcher, stats: stats, jobs: jobs, backfills: backfills)))
        }
    }

    /// `POST /ui/{project}/monitoring/watchers/{watcher}/state` `enabled=true|false`: pause or resume.
    @Sendable func postWatcherState(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring", form: true) { chrome in
            let form = try await memberForm(request, action: "pausing a watcher")
            var watcher = try await loadWatcher(chrome, context)
            watcher.enabled = form["enabled"] == "true"
            watcher.updatedAt = Timestamp.now()
            _ = try await store.watchers.update(watcher)
            return WebController.redirect("/ui/\(Views.percent(chrome.project.slug))/monitoring/watchers/\(Views.percent(watcher.id))")
        }
    }

    /// `POST /ui/{project}/monitoring/watchers/{watcher}/dataset` `dataset=NAME`: the traces the watcher failed
    /// (score below 1), at most 500, newest first, become items of the dataset (made when missing), for review
    /// and then golden marking on the dataset's page: the response loop's first step.
    @Sendable func postWatcherDataset(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring", form: true) { chrome in
            let form = try await memberForm(request, action: "adding traces to a dataset")
            guard let (user, _, _) = await web.viewer(request) else { throw TernError.forbidden("sign in again") }
            let name = (form["dataset"] ?? "").trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw TernError.invalid("dataset", "a dataset name is required") }
            let watcher = try await loadWatcher(chrome, context)
            if try await store.datasets.get(projectID: chrome.project.id, name: name) == nil {
                _ = try await store.datasets.create(projectID: chrome.project.id, name: name, description: "Traces the watcher \(watcher.name) failed")
            }
            var filter = TraceFilter()
            filter.scores = [ScoreFilter(name: watcher.scoreName, max: 0.999_999)]
            let page = try await store.traces.list(projectID: chrome.project.id, query: TraceQuery(filter: filter, limit: 500))
            guard !page.traces.isEmpty else { throw TernError.invalid("dataset", "the watcher has failed no trace yet") }
            _ = try await store.datasets.apply(
                projectID: chrome.project.id, dataset: name, upserts: page.traces.map { DatasetsController.item(from: $0.trace) }, removals: [],
                author: "user:\(user.email)", message: "\(page.traces.count) traces the watcher \(watcher.name) failed")
            return WebController.redirect("/ui/\(Views.percent(chrome.project.slug))/datasets/\(Views.percent(name))")
        }
    }

    /// `GET /ui/{project}/monitoring/alerts`
    @Sendable func getAlerts(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            web.html(renderer.render("monitoring-alerts", Views.alerts(chrome: chrome, rules: try await store.alerts.list(projectID: chrome.project.id))))
        }
    }

    /// `GET /ui/{project}/alerts/{alert}`: the page notifications link to.
    @Sendable func getAlert(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            let rule = try await loadAlert(chrome, context)
            let events = try await store.alerts.events(projectID: chrome.project.id, ruleID: rule.id, limit: 50)
            let deliveries = try await store.alerts.deliveries(projectID: chrome.project.id, ruleID: rule.id, limit: 50)
            return web.html(renderer.render("monitoring-alert", Views.alert(chrome: chrome, rule: rule, events: events, deliveries: deliveries)))
        }
    }

    /// `POST /ui/{project}/alerts/{alert}/silence` `hours=N` (0 ends the silence).
    @Sendable func postAlertSilence(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring", form: true) { chrome in
            let form = try await memberForm(request, action: "silencing an alert")
            guard let hours = Int(form["hours"] ?? ""), (0...24 * 30).contains(hours) else {
                throw TernError.invalid("hours", "expected a number of hours from 0 to 720")
            }
            var rule = try await loadAlert(chrome, context)
            rule.silencedUntil = hours == 0 ? nil : Date().addingTimeInterval(Double(hours) * 3600)
            rule.updatedAt = Timestamp.now()
            _ = try await store.alerts.update(rule)
            return WebController.redirect("/ui/\(Views.percent(chrome.project.slug))/alerts/\(Views.percent(rule.id))")
        }
    }

    /// `GET /ui/{project}/monitoring/probes`
    @Sendable func getProbes(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            var rows: [(Probe, (ExperimentRun, ProbeShift?)?)] = []
            for probe in try await store.probes.list(projectID: chrome.project.id) {
                rows.append((probe, try await ProbeComparison.latest(probe, store: store)))
            }
            return web.html(renderer.render("monitoring-probes", Views.probes(chrome: chrome, probes: rows)))
        }
    }

    /// `GET /ui/{project}/monitoring/gaps?metric=&by=&range=&min_count=`
    @Sendable func getGaps(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            let parameters = request.uri.queryParameters
            let metric = parameters.get("metric") ?? "latency"
            let by = parameters.get("by") ?? "model"
            let range = RangeChoice.named(parameters.get("range"), default: "7d")
            let minCount = min(1_000_000, max(2, Int(parameters.get("min_count") ?? "") ?? 30))
            let measure = try TraceMeasure(parsing: metric)
            let segment = try TraceSegment(parsing: by)
            let now = Date()
            let filter = TraceFilter(from: now.addingTimeInterval(-range.seconds), to: now)
            let sums = try await store.traces.segmentSums(projectID: chrome.project.id, filter: filter, segment: segment, measure: measure, limit: 50)
            let kind = SegmentGaps.kind(of: measure, sums)
            let gaps = SegmentGaps.analyse(sums, kind: kind, minimumCount: minCount)
            let scoreNames = Array(Set(try await store.watchers.list(projectID: chrome.project.id).map(\.scoreName))).sorted()
            return web.html(
                renderer.render(
                    "monitoring-gaps",
                    Views.gaps(chrome: chrome, metric: metric, by: by, range: range, minCount: minCount, kind: kind, gaps: gaps, scoreNames: scoreNames)))
        }
    }

    /// `GET /ui/{project}/monitoring/drift?range=24h&reference=previous|week`: the current window against the
    /// window before it (or the same window a week before), column by column with both distributions drawn.
    @Sendable func getDrift(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            let parameters = request.uri.queryParameters
            let range = RangeChoice.named(parameters.get("range"), default: "24h")
            let reference = Views.driftReferences.contains { $0.0 == parameters.get("reference") } ? parameters.get("reference")! : "previous"
            let now = Date()
            var monitors: [(DriftMonitor, [DriftMonitorReport])] = []
            for monitor in try await store.driftMonitors.list(projectID: chrome.project.id) {
                monitors.append((monitor, try await store.driftMonitors.reports(projectID: chrome.project.id, monitorID: monitor.id, limit: 30)))
            }
            // A monitor's comparison (`?monitor=NAME`): its windows, filter, columns and reference, drawn now.
            let chosen = monitors.first { $0.0.name == parameters.get("monitor") }?.0
            var current = (now.addingTimeInterval(-range.seconds), now)
            let shift = reference == "week" ? 7 * 86_400 : range.seconds
            var past = (current.0.addingTimeInterval(-shift), current.1.addingTimeInterval(-shift))
            var base = TraceFilter()
            var options = DriftOptions()
            if let chosen {
                (current, past) = chosen.windows(at: now)
                base = chosen.filter.traceFilter
                options.columns = chosen.columns
            }
            base.includeInternal = false
            var referenceFilter = base, currentFilter = base
            (referenceFilter.from, referenceFilter.to) = (past.0, past.1)
            (currentFilter.from, currentFilter.to) = (current.0, current.1)
            let metadata = chosen?.metadataKeys ?? []
            var referenceLabel: String?
            let referenceTable: DriftTable
            if let chosen, case .dataset(let name, let version) = chosen.reference {
                referenceTable =
                    (try? await DatasetDriftTable.load(
                        store: store, project: chrome.project.id, dataset: name, version: version, limit: 5_000, metadata: metadata))
                    ?? DriftTable(source: "dataset \(name)")
                referenceLabel = referenceTable.source
            } else {
                referenceTable = try await monitoring.table(chrome.project.id, referenceFilter, 5_000, source: "reference window", metadata: metadata)
            }
            let currentTable = try await monitoring.table(chrome.project.id, currentFilter, 5_000, source: "current window", metadata: metadata)
            // Nothing to compare when a window is empty.
            let report =
                referenceTable.rowCount == 0 || currentTable.rowCount == 0
                ? nil : try? DriftAnalysis.report(reference: referenceTable, current: currentTable, options: options)
            return web.html(
                renderer.render(
                    "monitoring-drift",
                    Views.drift(
                        chrome: chrome, range: range, reference: reference, referenceWindow: past, currentWindow: current, report: report,
                        referenceTable: referenceTable, currentTable: currentTable, monitors: monitors, monitor: chosen?.name,
                        referenceLabel: referenceLabel)))
        }
    }

    /// `GET /ui/{project}/monitoring/topics?range=7d&field=input|output`: topic clusters of traffic over time.
    @Sendable func getTopics(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await web.page(request, context, active: "monitoring") { chrome in
            let parameters = request.uri.queryParameters
            let range = RangeChoice.named(parameters.get("range") == "1h" ? nil : parameters.get("range"), default: "7d")
            let field = parameters.get("field") == "output" ? "output" : "input"
            let now = Date()
            var filter = TraceFilter(from: now.addingTimeInterval(-range.seconds), to: now)
            filter.includeInternal = false
            let topicsRequest = MonitoringController.TopicsRequest(
                filter: filter, from: filter.from!, to: now, bucketSeconds: range.seconds <= 2 * 86_400 ? 3600 : 86_400, field: field, k: nil,
                sample: 1_000)
            var timeline: TopicTimeline?
            var note = ""
            do {
                timeline = try await monitoring.topics(chrome.project.id, topicsRequest)
                if timeline == nil { note = "Fewer than 10 texts in this range: nothing to cluster." }
            } catch let error as TernError {
                note = error.message
            } catch {
                note = "Topics need the local embedding model (tern models pull all-minilm-l6-v2): \(error)"
            }
            return web.html(
                renderer.render("monitoring-topics", Views.topics(chrome: chrome, range: range, field: field, timeline: timeline, note: note)))
        }
    }
}
