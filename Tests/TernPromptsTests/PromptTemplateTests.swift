import Foundation
import TernCore
import TernPrompts
import Testing

@Test("prompt templates: variables found, rendered, missing ones named")
func promptTemplates() throws {
    #expect(PromptTemplate.variables(in: "Hi {{ name }}, about {{topic}} and {{ name }}; {{ not a var }}") == ["name", "topic"])
    let version = PromptVersion(
        projectID: "p", name: "greet", kind: .text, text: "Hi {{ name }}, {{ info.city }}!", variables: ["name", "info.city"],
        author: "a", createdAt: Date())
    try version.validate()
    #expect(try version.render(["name": "Ada", "info.city": "Paris"]).text == "Hi Ada, Paris!")
    #expect(try version.render(["name": 3, "info.city": ["a": 1]]).text == #"Hi 3, {"a":1}!"#)
    #expect(throws: TernError.self) { _ = try version.render(["name": "Ada"]) }
    let missing = #expect(throws: TernError.self) { _ = try version.render([:]) }
    #expect(missing?.message.contains("name, info.city") == true, "\(String(describing: missing))")
    var bad = version
    bad.name = "no spaces"
    #expect(throws: TernError.self) { try bad.validate() }
}
