import TernCore

/// HTML escaping for text and attribute values. Every piece of user content that reaches a page
/// goes through this (templates escape `{{value}}` with the same rules).
public enum HTML {
    public static func escape(_ text: String) -> String {
        MarkupEscape.escape(text)
    }
}
