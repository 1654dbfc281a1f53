public import Mustache

/// A page, or a part of one, as the templates see it: its stored properties, looked up by name.
///
/// A nil optional reads as `false`, so `{{#traceHref}}` inside a row whose trace is unknown renders
/// nothing instead of finding a `traceHref` of an enclosing context (mustache looks a missing name up
/// the context stack; a property that is there but empty must stop that).
public protocol ViewModel: MustacheParent, Sendable {}

extension ViewModel {
    public func child(named name: String) -> Any? {
        for child in Mirror(reflecting: self).children where child.label == name {
            return ViewValue.present(child.value)
        }
        return nil
    }
}

enum ViewValue {
    /// The value an optional holds, or `false` for none.
    static func present(_ value: Any) -> Any {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        guard let wrapped = mirror.children.first else { return false }
        return present(wrapped.value)
    }
}

/// A page: the layout's parts (title, the signed-in chrome, a flash message) around a typed content.
/// Names the content does not have are looked up in the chrome (`project`, `csrf`, `user`), as every
/// template may link into its project or post a form.
public struct Page<Content: ViewModel>: MustacheParent, Sendable {
    public var title: String
    public var chrome: ChromeView?
    public var flash: Flash?
    public var content: Content

    public init(title: String, chrome: Chrome?, flash: Flash? = nil, content: Content) {
        self.title = title
        self.chrome = chrome.map(ChromeView.init)
        self.flash = flash
        self.content = content
    }

    public func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "chrome": chrome ?? false
        case "flash": flash ?? false
        default: content.child(named: name) ?? chrome?.child(named: name)
        }
    }
}

/// A message above the page's content.
public struct Flash: ViewModel, Equatable {
    /// `ok` or `error` (the CSS class).
    public var kind: String
    public var message: String

    public init(kind: String, message: String) {
        self.kind = kind
        self.message = message
    }

    public static func ok(_ message: String) -> Flash { Flash(kind: "ok", message: message) }
    public static func error(_ message: String) -> Flash { Flash(kind: "error", message: message) }
}

/// The top bar of a signed-in page: the project and the switcher, the sections, the user, the CSRF token.
public struct ChromeView: ViewModel {
    public struct ProjectLink: ViewModel {
        public var slug: String
        public var name: String
        public var selected: Bool
    }

    public struct Section: ViewModel {
        public var id: String
        public var label: String
        public var enabled: Bool
        public var active: Bool
        public var href: String
    }

    public var project: ProjectLink
    public var projects: [ProjectLink]
    public var nav: [Section]
    public var user: String
    public var csrf: String

    init(_ chrome: Chrome) {
        project = ProjectLink(slug: chrome.project.slug, name: chrome.project.name, selected: true)
        projects = chrome.projects.map { ProjectLink(slug: $0.slug, name: $0.name, selected: $0.id == chrome.project.id) }
        nav = Chrome.sections.map {
            Section(id: $0.id, label: $0.label, enabled: $0.enabled, active: $0.id == chrome.active, href: "/ui/\(chrome.project.slug)/\($0.id)")
        }
        user = chrome.userName
        csrf = chrome.csrf
    }
}

/// A page without content of its own (errors), and the sign-in page.
public struct NoContent: ViewModel {
    public init() {}
}

public struct SignInView: ViewModel {
    public var next: String
    public var email: String

    public init(next: String, email: String) {
        self.next = next
        self.email = email
    }
}

/// A choice of a `<select>`.
public struct Option: ViewModel, Equatable {
    public var value: String
    public var label: String
    public var selected: Bool

    public init(value: String, label: String, selected: Bool) {
        self.value = value
        self.label = label
        self.selected = selected
    }
}

/// A figure in a row of key figures.
public struct KPI: ViewModel {
    public var id: String?
    public var label: String
    public var value: String

    public init(id: String? = nil, label: String, value: String) {
        self.id = id
        self.label = label
        self.value = value
    }
}

/// A chart drawn as SVG with its title (and a note under it).
public struct ChartView: ViewModel {
    public var title: String
    public var svg: String
    public var note: String?

    public init(title: String, svg: String, note: String? = nil) {
        self.title = title
        self.svg = svg
        self.note = note
    }
}

/// A label and a value, linked when `href` is set.
public struct Fact: ViewModel {
    public var label: String
    public var value: String
    public var href: String?

    public init(label: String, value: String, href: String? = nil) {
        self.label = label
        self.value = value
        self.href = href
    }
}
