import Mustache

/// Renders the UI's pages from their templates. Built once per process.
public struct WebRenderer: Sendable {
    let library: MustacheLibrary

    /// The templates are files embedded in this module (WebFiles.swift); the tests render every page.
    public static let shared: WebRenderer = {
        do { return try WebRenderer() } catch { fatalError("Tern's UI templates do not parse: \(error)") }
    }()

    public init() throws {
        var library = MustacheLibrary()
        for (name, text) in Templates.all {
            try library.register(text, named: name)
        }
        self.library = library
    }

    /// The template `name` with `page`; every `{{value}}` is HTML-escaped.
    public func render<Content>(_ name: String, _ page: Page<Content>) -> String {
        library.render(page, withTemplate: name) ?? "<!doctype html><title>Tern</title><p>Template \(HTML.escape(name)) is missing.</p>"
    }

    /// A page without the signed-in chrome (sign-in, errors).
    public func plain<Content: ViewModel>(_ name: String, title: String, flash: Flash? = nil, _ content: Content) -> String {
        render(name, Page(title: title, chrome: nil, flash: flash, content: content))
    }

    public func plain(_ name: String, title: String, flash: Flash? = nil) -> String {
        plain(name, title: title, flash: flash, NoContent())
    }
}
