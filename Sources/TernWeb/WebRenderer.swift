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

    /// The page `name` with `context`; every `{{value}}` is HTML-escaped.
    public func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? "<!doctype html><title>Tern</title><p>Template \(HTML.escape(name)) is missing.</p>"
    }

    /// A page without the signed-in chrome (sign-in, errors).
    public func plain(_ name: String, title: String, flash: (kind: String, message: String)? = nil, _ extra: [String: Any] = [:]) -> String {
        var context = extra
        context["title"] = title
        if let flash { context["flash"] = ["kind": flash.kind, "message": flash.message] }
        return render(name, context)
    }
}
