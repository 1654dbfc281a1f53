import Foundation
@testable import TernWeb
import Testing

/// The UI's templates and assets are files under Sources/TernWeb, embedded by SwiftPM: every file must be
/// registered and served exactly as it is written.
@Suite("Web files embedded in the binary")
struct WebFilesTests {
    static let webSources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/TernWeb")

    static func files(_ folder: String, ending: String) throws -> [String: String] {
        let directory = webSources.appendingPathComponent(folder)
        var out: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(ending) {
            var text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            if text.hasSuffix("\n") { text.removeLast() }
            out[String(name.dropLast(ending.count))] = text
        }
        return out
    }

    @Test("every template file is registered under its name, byte for byte, and parses")
    func templates() throws {
        let files = try Self.files("Templates", ending: ".mustache")
        #expect(files.count >= 30)
        #expect(Set(files.keys) == Set(Templates.all.keys), "register new files in WebFiles.swift")
        for (name, text) in files { #expect(Templates.all[name] == text, "\(name).mustache") }
        _ = try WebRenderer()
    }

    @Test("the stylesheet and the script hold every asset file")
    func assets() throws {
        let styles = try Self.files("Assets", ending: ".css")
        let scripts = try Self.files("Assets", ending: ".js")
        #expect(styles.count == 5 && scripts.count == 3)
        for (name, text) in styles { #expect(WebAssets.stylesheet.contains(text), "\(name).css") }
        for (name, text) in scripts { #expect(WebAssets.script.contains(text), "\(name).js") }
        #expect(ChartStyles.css == styles["charts"])
    }
}
