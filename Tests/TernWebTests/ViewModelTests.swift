import Foundation
import Mustache
import TernCore
import TernWeb
import Testing

@Suite("Typed page contexts")
struct ViewModelTests {
    struct Row: ViewModel {
        var name: String
        var link: String?
    }

    struct Content: ViewModel {
        var link: String
        var rows: [Row]
    }

    static func render(_ template: String, _ page: Page<Content>) throws -> String {
        var library = MustacheLibrary()
        try library.register(template, named: "t")
        return library.render(page, withTemplate: "t") ?? ""
    }

    @Test("a nil property reads as false: a row without a link never shows the page's link")
    func nilStopsTheLookup() throws {
        let page = Page(
            title: "T", chrome: nil,
            content: Content(link: "/page", rows: [Row(name: "a", link: "/a"), Row(name: "b", link: nil)]))
        let out = try Self.render("{{#rows}}[{{name}}:{{#link}}{{link}}{{/link}}{{^link}}none{{/link}}]{{/rows}} {{link}}", page)
        #expect(out == "[a:/a][b:none] /page")
    }

    @Test("the layout's names: title, flash, and the chrome's project, user and CSRF token from anywhere in the page")
    func layoutNames() throws {
        let page = EditorViewTests.chrome.page("Hello", Content(link: "/x", rows: [Row(name: "r", link: nil)]), flash: .error("<oops>"))
        let out = try Self.render(
            "{{title}}|{{#flash}}{{kind}}:{{message}}{{/flash}}|{{#rows}}{{project.slug}} {{csrf}}{{/rows}}|{{#chrome}}{{user}}{{/chrome}}", page)
        #expect(out == "Hello|error:&lt;oops&gt;|default token|Ada")
        let plain = Page(title: "Sign in", chrome: nil, content: Content(link: "", rows: []))
        #expect(try Self.render("{{#chrome}}signed in{{/chrome}}{{^chrome}}signed out{{/chrome}}{{project.slug}}", plain) == "signed out")
    }

    @Test("a session page's top bar names the signed-in user, not the session's user")
    func sessionTopBar() throws {
        let trace = Trace(id: "t1", projectID: "p1", userID: "<b>customer</b>", sessionID: "s1", startTime: Date(timeIntervalSince1970: 0))
        let summary = TraceSummary(trace: trace, model: "m", latencyMs: 5, inputTokens: 1, outputTokens: 2, cost: nil, level: .default)
        let html = try WebRenderer().render(
            "session", Views.session(chrome: EditorViewTests.chrome, id: "s1", page: TracePage(traces: [summary], nextCursor: nil), limit: 50))
        let topBar = try #require(html.range(of: #"<div class="user"><span>"#))
        #expect(html[topBar.upperBound...].hasPrefix("Ada</span>"))
        #expect(html.contains("&lt;b&gt;customer&lt;/b&gt;"), "the session's user is on the page, escaped")
        #expect(!html.contains("<b>customer</b>"))
    }
}

@Suite("Score display")
struct ScoreDisplayTests {
    static func score(_ type: ScoreDataType, number: Double? = nil, text: String? = nil) -> Score {
        Score(
            id: "s", projectID: "p", traceID: "t", name: "n", dataType: type, numericValue: number, stringValue: text, source: .human,
            createdAt: Date())
    }

    @Test("a boolean score reads true or false, not 1 or 0; categories and numbers as they are")
    func display() {
        #expect(Views.scoreText(Self.score(.boolean, number: 1, text: "True")) == "true")
        #expect(Views.scoreText(Self.score(.boolean, number: 0)) == "false")
        #expect(Views.scoreText(Self.score(.categorical, text: "good")) == "good")
        #expect(Views.scoreText(Self.score(.numeric, number: 0.75)) == "0.75")
    }
}

@Suite("Counts in words")
struct CountTextTests {
    @Test("one item, two items, thousands grouped; irregular plurals given")
    func plurals() {
        #expect(Format.count(1, "item") == "1 item")
        #expect(Format.count(0, "item") == "0 items")
        #expect(Format.count(2_500, "trace") == "2,500 traces")
        #expect(Format.count(1, "entry", "entries") == "1 entry" && Format.count(3, "entry", "entries") == "3 entries")
    }
}
