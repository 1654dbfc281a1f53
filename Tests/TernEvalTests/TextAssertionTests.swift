import Foundation
import Testing
import TernCore
@testable import TernEval

// Examples marked "doc" come from https://promptfoo.dev/docs/configuration/expected-outputs/deterministic/

@Suite struct EqualsTests {
    @Test func stringEquality() async {
        // doc: `type: equals, value: 'The expected output'`
        #expect(await check(spec("equals", "The expected output"), "The expected output").pass)
        let result = await check(spec("equals", "The expected output"), "The expected output.")
        #expect(!result.pass)
        #expect(result.score == 0)
        #expect(result.reason.contains("does not equal"))
    }

    @Test func objectValueComparesAsJSON() async {
        // doc: `type: equals, value: { 'key': 'value' }`
        #expect(await check(spec("equals", ["key": "value"]), #"{ "key" : "value" }"#).pass)
        #expect(await check(spec("equals", ["a": 1, "b": [true, nil]]), #"{"b":[true,null],"a":1.0}"#).pass)
        #expect(!(await check(spec("equals", ["key": "value"]), #"{"key":"other"}"#).pass))
        let notJSON = await check(spec("equals", ["key": "value"]), "key: value")
        #expect(!notJSON.pass)
        #expect(!notJSON.isError)
        // not-equals with an object value passes on non-JSON output (promptfoo's fix for inverse).
        #expect(await check(spec("not-equals", ["key": "value"]), "key: value").pass)
    }

    @Test func numberValueComparesAsText() async {
        #expect(await check(spec("equals", 4), "4").pass)
        #expect(!(await check(spec("equals", 4), "4.0").pass))
    }

    @Test func missingValueUsesExpectedOutput() async {
        #expect(await check(spec("equals"), "Paris", expected: "Paris").pass)
        let error = await check(spec("equals"), "Paris")
        #expect(error.isError)
        #expect(error.reason.contains("`value` is missing"))
    }
}

@Suite struct ContainsTests {
    @Test func containsAndIContains() async {
        // doc: `type: contains, value: 'The expected substring'`
        #expect(await check(spec("contains", "The expected substring"), "Here is The expected substring!").pass)
        #expect(!(await check(spec("contains", "The expected substring"), "here is the expected substring").pass))
        #expect(await check(spec("icontains", "The expected substring"), "HERE IS THE EXPECTED SUBSTRING").pass)
    }

    @Test func numberValuesAreText() async {
        // doc: "Numbers are converted to strings, so `value: 0` matches output containing `0`."
        #expect(await check(spec("contains", 0), "Errors: 0").pass)
        #expect(await check(spec("contains", 1.5), "about 1.5 kg").pass)
    }

    @Test func containsAnyAndAll() async {
        // doc: contains-all / contains-any with values 'Value 1', 'Value 2', 'Value 3'
        let values: JSONValue = ["Value 1", "Value 2", "Value 3"]
        let all = "Value 1, Value 2 and Value 3"
        #expect(await check(spec("contains-all", values), all).pass)
        #expect(await check(spec("contains-any", values), "only Value 2").pass)
        let missing = await check(spec("contains-all", values), "only Value 2")
        #expect(!missing.pass)
        #expect(missing.reason.contains("\"Value 1\""))
        #expect(!(await check(spec("contains-any", values), "nothing").pass))
        #expect(await check(spec("icontains-any", values), "VALUE 3").pass)
        #expect(await check(spec("icontains-all", values), all.uppercased()).pass)
    }

    @Test func commaSeparatedValues() async {
        // doc: a compact string value is comma separated; quotes keep a comma inside a value.
        #expect(await check(spec("contains-all", "red, green,blue"), "red green blue").pass)
        #expect(await check(spec("contains-all", #""1,000", in stock"#), "1,000 items in stock").pass)
        #expect(!(await check(spec("contains-all", #""1,000", in stock"#), "1 000 items in stock").pass))
        #expect(SpecValues.splitCommaSeparated(#" a , "b, c" ,,d"#) == ["a", "b, c", "d"])
    }

    @Test func negation() async {
        #expect(await check(spec("not-contains", "error"), "all good").pass)
        let failed = await check(spec("not-contains", "error"), "an error happened")
        #expect(!failed.pass)
        #expect(failed.score == 0)
        #expect(failed.reason == "Output contains \"error\"")
        #expect(await check(spec("not-icontains-any", ["ERROR", "fail"]), "all good").pass)
        #expect(!(await check(spec("not-icontains-any", ["ERROR", "fail"]), "an error").pass))
    }

    @Test func badValues() async {
        let missing = await check(spec("contains"), "text")
        #expect(missing.isError && !missing.pass)
        #expect(missing.reason.contains("`value` is missing"))
        let wrongType = await check(spec("contains", ["a"]), "a")
        #expect(wrongType.isError)
        #expect(wrongType.reason.contains("got an array"))
        let wrongItem = await check(spec("contains-any", ["a", ["nested"]]), "a")
        #expect(wrongItem.isError)
        #expect(wrongItem.reason.contains("`value[1]`"))
        let empty = await check(spec("contains-all", []), "a")
        #expect(empty.isError)
        // An error stays an error (and fails) under not-.
        let negatedError = await check(spec("not-contains"), "text")
        #expect(negatedError.isError && !negatedError.pass)
    }
}

@Suite struct StartsWithAndRegexTests {
    @Test func startsWith() async {
        // doc: `type: starts-with, value: 'Yes'`
        #expect(await check(spec("starts-with", "Yes"), "Yes, it is.").pass)
        #expect(!(await check(spec("starts-with", "Yes"), "Well, yes").pass))
        #expect(await check(spec("not-starts-with", "Yes"), "Well, yes").pass)
    }

    @Test func regex() async {
        // doc: `type: regex, value: "\\d{4}"` (matches a 4-digit number)
        #expect(await check(spec("regex", #"\d{4}"#), "The year 2024 was long").pass)
        #expect(!(await check(spec("regex", #"\d{4}"#), "The year 24").pass))
        #expect(await check(spec("regex", "^Answer: (yes|no)$"), "Answer: no").pass)
        #expect(await check(spec("not-regex", "(?i)sorry"), "Here you go").pass)
        #expect(await check(spec("regex", #"(?<year>\d{4})-(?<month>\d\d)"#), "on 2024-05-01").pass)
    }

    @Test func invalidRegexIsAnErrorNamingThePattern() async {
        let result = await check(spec("regex", "([a-z"), "abc")
        #expect(!result.pass)
        #expect(result.isError)
        #expect(result.reason.contains("([a-z"))
        #expect(result.reason.contains("not a valid regular expression"))
    }
}
