/// Escaping text for HTML and XML: the web UI's pages and `tern eval`'s HTML and JUnit XML reports.
public enum MarkupEscape {
    /// `&`, `<`, `>`, `"` and `'` as entities. With `xml`, `'` is `&apos;` and the characters XML 1.0
    /// forbids (controls other than tab, newline and carriage return; U+FFFE, U+FFFF) are dropped.
    public static func escape(_ text: String, xml: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += xml ? "&apos;" : "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if xml, scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
