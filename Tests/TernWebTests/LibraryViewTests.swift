import TernCore
import TernWeb
import Testing

@Suite("Prompt and dataset views")
struct LibraryViewTests {
    @Test("a side-by-side diff puts unchanged lines together and a replaced run beside its replacement")
    func sideBySide() {
        let rows = Views.sideBySide(TextDiff.lines("a\nb\nc\nd", "a\nB\nB2\nd\ne"))
        let shown = rows.map { row in
            "\(row.left.map { "\($0.number):\($0.text)\($0.changed ? "-" : "")" } ?? "_") | \(row.right.map { "\($0.number):\($0.text)\($0.changed ? "+" : "")" } ?? "_")"
        }
        #expect(shown == ["1:a | 1:a", "2:b- | 2:B+", "3:c- | 3:B2+", "4:d | 4:d", "_ | 5:e+"])
        #expect(Views.sideBySide(TextDiff.lines("x", "x")).allSatisfy { $0.left?.changed == false && $0.right?.changed == false })
    }

    @Test("within a changed line, the words that changed are found; long lines are left whole")
    func words() throws {
        let found = try #require(TextDiff.words("Answer in one sentence, politely.", "Answer in two sentences, politely."))
        #expect(found.old.map(\.text) == ["Answer in ", "one", " ", "sentence", ", politely."])
        #expect(found.old.map(\.changed) == [false, true, false, true, false])
        #expect(found.new.filter(\.changed).map(\.text) == ["two", "sentences"])
        #expect(found.old.map(\.text).joined() == "Answer in one sentence, politely.", "the pieces make the line again")
        let long = String(repeating: "word ", count: 600)
        #expect(TextDiff.words(long, long + "more") == nil)
    }

    @Test("templates are escaped and their variables marked")
    func highlighted() {
        #expect(
            Views.highlighted("Hi {{ name }} <b>&</b> {{ not a var }} {{x}}")
                == "Hi <mark class=\"var\" title=\"variable name\">{{ name }}</mark> &lt;b&gt;&amp;&lt;/b&gt; {{ not a var }} <mark class=\"var\" title=\"variable x\">{{x}}</mark>"
        )
        #expect(Views.highlighted("<script>{{") == "&lt;script&gt;{{")
    }

    @Test("a trace's answer: the last message's text, else the output")
    func answerText() {
        #expect(Views.answerText(#"[{"role": "assistant", "content": "Sure."}]"#) == "Sure.")
        #expect(Views.answerText(#"{"role": "assistant", "content": "One."}"#) == "One.")
        #expect(Views.answerText("plain") == "plain")
        #expect(Views.answerText(nil) == "")
    }
}
