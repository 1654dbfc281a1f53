import Foundation
import TernCore
@testable import TernEval
import Testing

/// A folder of config files for one test.
struct ConfigFolder {
    let url: URL

    init(_ files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tern-eval-config-\(UUID().uuidString)")
        for (path, text) in files {
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
    }

    func load(_ name: String = "tern-eval.yaml", flavor: EvalConfigFlavor = .tern) throws -> EvalConfig {
        try EvalConfig.load(path: url.appendingPathComponent(name).path, flavor: flavor)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Parses config text in an empty folder and returns the error it raises, as text with its file name.
func configError(_ yaml: String, flavor: EvalConfigFlavor = .tern, files: [String: String] = [:]) -> String? {
    guard let folder = try? ConfigFolder(files.merging(["c.yaml": yaml]) { a, _ in a }) else { return "folder" }
    defer { folder.remove() }
    do {
        _ = try folder.load("c.yaml", flavor: flavor)
        return nil
    } catch let error as ConfigError {
        return error.description.replacingOccurrences(of: folder.url.path + "/", with: "")
    } catch {
        return "\(error)"
    }
}

@Suite("tern eval config")
struct EvalConfigTests {
    @Test("a full config: every prompt form, provider form, test source, defaultTest merge, options and Tern extensions")
    func fullConfig() throws {
        let yaml = """
            description: Support answers
            prompts:
              - 'Answer briefly: {{question}}'
              - file://prompts/two.txt
              - file://prompts/chat.json
              - id: file://prompts/chat.yaml
                label: yaml-chat
              - label: raw
                raw: 'Hi {{ name }}, {{ order.id }}'
              - - role: system
                  content: You are terse.
                - role: user
                  content: '{{question}}'
            providers:
              - openai:chat:gpt-4o-mini
              - openai:gpt-4.1
              - openai:gpt-3.5-turbo-instruct
              - id: anthropic:messages:claude-sonnet-4-5
                label: claude
                config: {temperature: 0.1, max_tokens: 300, top_p: 0.9, apiKeyEnvar: MY_KEY, seed: 7}
              - support-bot
              - openai:completion:davinci-002: {label: legacy}
              - echo
            defaultTest:
              vars: {name: Ada, order: {id: 42}}
              assert:
                - type: latency
                  threshold: 5000
              threshold: 0.5
              metadata: {team: support}
            tests:
              - description: inline
                vars:
                  question: [What is 1+1?, What is 2+2?]
                  notes: file://vars/notes.txt
                  record: file://vars/record.json
                assert:
                  - type: contains
                    value: '4'
                  - type: assert-set
                    threshold: 0.5
                    assert:
                      - {type: icontains, value: four}
                      - {type: regex, value: '\\\\d'}
                options: {prefix: 'P: ', suffix: ' :S'}
                golden: true
              - file://cases/*.yaml
              - file://cases.jsonl
              - file://cases.csv
            dataset: support-golden@3
            golden: require-all
            evaluateOptions: {maxConcurrency: 8, repeat: 2, cache: false, timeoutMs: 30000}
            env: {OPENAI_BASE_URL: 'http://127.0.0.1:9/v1'}
            outputPath: out/results.json
            """
        let folder = try ConfigFolder([
            "tern-eval.yaml": yaml,
            "prompts/two.txt": "First {{question}}\n---\nSecond {{question}}\n",
            "prompts/chat.json": #"[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "{{question}}"}]"#,
            "prompts/chat.yaml": "- role: user\n  content: '{{question}}'\n",
            "vars/notes.txt": "some notes",
            "vars/record.json": #"{"a": [1, 2]}"#,
            "cases/a.yaml": "- vars: {question: from yaml}\n  assert: [{type: equals, value: x}]\n",
            "cases/b.yaml": "- description: b\n  vars: {question: from b}\n",
            "cases.jsonl": #"{"vars": {"question": "from jsonl"}, "assert": [{"type": "starts-with", "value": "fr"}]}"# + "\n\n"
                + #"{"description": "second line", "vars": {"question": "q2"}, "threshold": 0.25}"# + "\n",
            "cases.csv": """
            question,__expected,__expected2,__description,__prefix,__suffix,__metric,__threshold,__metadata:tags[],__config:__expected2:weight
            "Hello, world",contains: Hello,not-icontains: bye,csv one,>> , <<,accuracy,0.75,"a,b\\,c",3
            plain,  Paris  ,,,,,,,,
            """,
        ])
        defer { folder.remove() }
        let config = try folder.load()
        #expect(config.description == "Support answers")
        // Prompts: inline, a file split on ---, JSON and YAML chat files, {label, raw}, an inline message list.
        #expect(config.prompts.map(\.kind) == [.text, .text, .text, .chat, .chat, .text, .chat])
        #expect(config.prompts[1].text == "First {{question}}" && config.prompts[2].text == "Second {{question}}")
        #expect(config.prompts[1].label.hasSuffix("prompts/two.txt #1"))
        #expect(config.prompts[3].messages.map(\.role) == ["system", "user"])
        #expect(config.prompts[4].label == "yaml-chat" && config.prompts[4].key == "yaml-chat")
        #expect(config.prompts[5].key == "raw" && config.prompts[5].variables == ["name", "order.id"])
        #expect(config.prompts[0].key == "prompts[0]" && config.prompts[6].key == "prompts[6]")
        // Providers.
        #expect(config.providers.map(\.api) == [.openAIChat, .openAIChat, .openAICompletion, .anthropicMessages, .ternGateway, .openAICompletion, .echo])
        #expect(
            config.providers.map(\.model) == ["gpt-4o-mini", "gpt-4.1", "gpt-3.5-turbo-instruct", "claude-sonnet-4-5", "support-bot", "davinci-002", "echo"])
        let claude = config.providers[3]
        #expect(claude.displayName == "claude" && claude.apiKeyEnvar == "MY_KEY")
        #expect(claude.options == ModelCallOptions(temperature: 0.1, maxTokens: 300, topP: 0.9, parameters: ["seed": 7]))
        #expect(config.providers[5].label == "legacy")
        // Tests: 2 inline (array expansion), 2 YAML, 2 JSONL, 2 CSV; defaultTest merged into each.
        #expect(config.tests.count == 8)
        let inline = config.tests[0]
        #expect(inline.vars["question"] == "What is 1+1?" && config.tests[1].vars["question"] == "What is 2+2?")
        #expect(inline.vars["notes"] == "some notes" && inline.vars["record"] == ["a": [1, 2]])
        #expect(inline.vars["name"] == "Ada", "defaultTest vars merge under the test's")
        #expect(inline.assertions.map(\.spec.type) == ["latency", "contains", "assert-set"], "defaultTest's assertions first")
        #expect(inline.assertions[2].spec.assertions?.count == 2)
        #expect(inline.threshold == 0.5 && inline.metadata["team"] == "support")
        #expect(inline.prefix == "P: " && inline.suffix == " :S" && inline.golden)
        let containsLine = yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("- type: contains") }! + 1
        #expect(inline.assertions[1].location.path == "tests[0].assert[0]" && inline.assertions[1].location.line == containsLine)
        #expect(config.tests[2].vars["question"] == "from yaml" && config.tests[3].description == "b")
        #expect(config.tests[4].assertions.last?.spec.type == "starts-with" && config.tests[5].threshold == 0.25)
        let csv = config.tests[6]
        #expect(csv.description == "csv one" && csv.vars == ["question": "Hello, world", "name": "Ada", "order": ["id": 42]])
        #expect(csv.prefix == ">> " && csv.suffix == " <<" && csv.threshold == 0.75)
        #expect(csv.metadata["tags"] == ["a", "b,c"])
        #expect(csv.assertions.map(\.spec.type) == ["latency", "contains", "not-icontains"])
        #expect(csv.assertions[1].spec.value == "Hello" && csv.assertions[1].spec.metric == "accuracy")
        #expect(csv.assertions[2].spec.weight == 3)
        #expect(config.tests[7].assertions.last?.spec == AssertionSpec(type: "equals", value: "Paris"))
        #expect(config.tests[7].location.path == "row 3")
        // Options and extensions.
        #expect(config.dataset == EvalDatasetReference(name: "support-golden", version: 3, location: config.dataset!.location))
        #expect(config.goldenRequireAll && config.maxConcurrency == 8 && config.repeatCount == 2 && config.cache == false && config.timeoutSeconds == 30)
        #expect(config.environment == ["OPENAI_BASE_URL": "http://127.0.0.1:9/v1"] && config.outputPaths == ["out/results.json"])
        // Dataset items become tests with defaultTest applied.
        let fromDataset = config.tests(fromDataset: [DatasetItem(id: "d1", input: ["question": "q"], expectedOutput: "a", golden: true)])
        #expect(fromDataset.first?.vars["name"] == "Ada" && fromDataset.first?.expected == "a" && fromDataset.first?.golden == true)
        #expect(fromDataset.first?.key(uniqueDescription: true) == "item:d1")
    }

    @Test("__expected cells read as promptfoo reads them")
    func csvAssertions() throws {
        let at = EvalLocation(source: "t.csv", path: "row 2", line: nil)
        func read(_ text: String) throws -> AssertionSpec { try EvalConfigParser.assertion(fromCSV: text, at: at) }
        #expect(try read("contains: Paris") == AssertionSpec(type: "contains", value: "Paris"))
        #expect(try read("not-icontains:bye") == AssertionSpec(type: "not-icontains", value: "bye"))
        #expect(try read("contains-any: a, b,c") == AssertionSpec(type: "contains-any", value: ["a", "b", "c"]))
        #expect(try read("icontains-all:x,y") == AssertionSpec(type: "icontains-all", value: ["x", "y"]))
        #expect(try read("rouge-n(0.5):the reference") == AssertionSpec(type: "rouge-n", value: "the reference", threshold: 0.5))
        #expect(try read("levenshtein:abc") == AssertionSpec(type: "levenshtein", value: "abc", threshold: 0.75), "promptfoo's default threshold")
        #expect(try read("similar:hello") == AssertionSpec(type: "similar", value: "hello", threshold: 0.8))
        #expect(try read("is-json") == AssertionSpec(type: "is-json"))
        #expect(try read("grade: is polite") == AssertionSpec(type: "llm-rubric", value: "is polite"))
        #expect(try read("llm-rubric: is polite") == AssertionSpec(type: "llm-rubric", value: "is polite"))
        #expect(try read("Paris") == AssertionSpec(type: "equals", value: "Paris"))
        #expect(try read("containsx: y") == AssertionSpec(type: "equals", value: "containsx: y"), "not a type: the whole cell is expected")
        for code in ["javascript: output.length < 10", "fn: x", "python: x", "file://check.py"] {
            #expect(throws: ConfigError.self, "\(code)") { try read(code) }
        }
    }

    @Test("errors name the file, line and key path, and unsupported promptfoo features are refused by name")
    func errors() throws {
        let base = "prompts: ['Q: {{q}}']\nproviders: [openai:chat:m]\ntests: [{vars: {q: x}}]\n"
        let cases: [(String, EvalConfigFlavor, String)] = [
            (
                "prompts: [a]\nproviders: [python:provider.py]\ntests: [{vars: {}}]\n", .promptfoo,
                #"c.yaml:2: providers[0]: not supported by tern eval: python: providers ("python:provider.py")"#
            ),
            (base + "scenarios: []\n", .promptfoo, "c.yaml:4: scenarios: not supported by tern eval: scenarios are not supported"),
            (
                "prompts: [a]\nproviders: [openai:chat:m]\ntests:\n  - vars: {}\n    assert:\n      - type: contains\n        value: x\n        transform: output.trim()\n",
                .promptfoo, "c.yaml:8: tests[0].assert[0].transform: not supported by tern eval: output transforms run JavaScript"
            ),
            (
                "prompts: [a]\nproviders:\n  - id: openai:chat:m\n    config:\n      temprature: 1\ntests: [{vars: {}}]\n", .promptfoo,
                #"c.yaml:5: providers[0].config.temprature: unknown key, did you mean "temperature"?"#
            ),
            (base + "evaluateOptions:\n  maxConcurrency: 0\n", .tern, "c.yaml:5: evaluateOptions.maxConcurrency: expected an integer 1-1000, got 0"),
            (base + "evaluateOptions: {delay: 100}\n", .promptfoo, "evaluateOptions.delay: not supported by tern eval: delays"),
            (base + "dataset: golden\n", .promptfoo, "c.yaml:4: dataset: not supported by tern eval: dataset is a Tern extension"),
            ("prompts: [a]\nproviders: [support-bot]\ntests: [{vars: {}}]\n", .promptfoo, #"providers[0]: not supported by tern eval: support-bot: providers"#),
            (
                "prompts: [a]\nproviders: [{id: 'openai:chat:m', config: {apiKey: sk-1}}]\ntests: [{vars: {}}]\n", .promptfoo,
                "providers[0].config.apiKey: not supported by tern eval: keys are not read from config files"
            ),
            (
                "prompts: ['Hi {{ name | upper }}']\nproviders: [echo]\ntests: [{vars: {}}]\n", .promptfoo,
                "c.yaml:1: prompts[0]: the template uses \"{{ name | upper }}\": Nunjucks filters and expressions are not supported"
            ),
            ("prompts: ['{% if x %}y{% endif %}']\nproviders: [echo]\ntests: [{vars: {}}]\n", .promptfoo, "prompts[0]: the template uses Nunjucks tags"),
            ("prompts: [file://gen.py]\nproviders: [echo]\ntests: [{vars: {}}]\n", .promptfoo, "prompts[0]: gen.py is a prompt function"),
            ("prompts: [a]\nproviders: [echo]\ntests: file://missing.csv\n", .promptfoo, "c.yaml:3: tests: missing.csv does not exist"),
            (
                "prompts: [a]\nproviders: [echo]\ntests: file://make_tests.py:create\n", .promptfoo,
                "tests: file://make_tests.py:create generates tests with code"
            ),
            ("prompts: [a]\nproviders: [echo]\ntests: [{vars: {v: file://v.js}}]\n", .promptfoo, "tests[0].vars.v: file://v.js is code"),
            (
                "prompts: [a]\nproviders: [echo]\ntests: [{vars: {q: 1}, providers: [x]}]\n", .promptfoo,
                "tests[0].providers: not supported by tern eval: per-test provider filters"
            ),
            (
                "prompts: [a]\nproviders: [echo]\ntests: [{vars: {q: 1}, assert: [{type: javascript, value: 'output'}]}]\n", .promptfoo,
                "tests[0].assert[0]: not supported by tern eval: javascript assertions run code"
            ),
            ("prompts: [a]\nproviders: [echo]\ntests: [{vars: {q: 1}, assert: [{value: x}]}]\n", .promptfoo, "tests[0].assert[0]: an assertion needs a type"),
            (
                "prompts: [a]\nproviders: [echo, echo]\ntests: [{vars: {}}]\n", .promptfoo,
                "providers[1]: providers[0] has the same id \"echo\"; give each a distinct label"
            ),
            ("prompts: [a]\nproviders: [echo]\n", .promptfoo, "c.yaml: tests: required"),
            ("prompts: [a]\ntests: [{vars: {}}]\n", .promptfoo, "c.yaml: providers: required"),
            (
                "prompts: [a]\nproviders: [echo]\ntests: file://t.csv\n", .promptfoo,
                "t.csv: row 2, __expected: not supported by tern eval: javascript: assertions run code"
            ),
            ("prompts: [a]\nproviders: [echo]\ntests: file://t.jsonl\n", .promptfoo, "t.jsonl:2: vars: expected a mapping"),
            (
                "prompts: [a]\nproviders: [echo]\ntests: file://u.csv\n", .promptfoo,
                "u.csv:1: column 2 (_expected): did you mean __expected? The special column is __expected (two underscores)"
            ),
            (
                "prompts: [a]\nproviders: [echo]\ntests: file://p.csv\n", .promptfoo,
                "p.csv:1: column 2 (__providerOutput): not supported by tern eval: canned provider outputs"
            ),
            ("prompts: [a]\nproviders: [echo]\ntests: file://m.csv\n", .promptfoo, "m.csv:1: column 2 (__metadata): name the field: __metadata:KEY"),
            (base + "golden: all\n", .tern, #"c.yaml:4: golden: expected require-all or none, got "all""#),
            ("prompts: [a]\nproviders: [openai:embedding:text-embedding-3-small]\ntests: [{vars: {}}]\n", .promptfoo, "openai:embedding providers"),
        ]
        let files = [
            "t.csv": "q,__expected\nx,javascript: output === 'x'\n", "u.csv": "q,_expected\nx,y\n", "p.csv": "q,__providerOutput\nx,y\n",
            "m.csv": "q,__metadata\nx,y\n", "t.jsonl": #"{"vars": {"q": "a"}}"# + "\n" + #"{"vars": "nope"}"# + "\n",
        ]
        for (yaml, flavor, expected) in cases {
            let error = configError(yaml, flavor: flavor, files: files)
            #expect(error?.contains(expected) == true, "\(yaml)\n→ \(error ?? "no error")\nexpected: \(expected)")
        }
    }

    @Test("validation before the run: unknown assertion types and unset prompt variables are refused with their location")
    func validation() throws {
        let folder = try ConfigFolder([
            "c.yaml":
                "prompts: ['Q: {{q}} {{ctx.topic}}']\nproviders: [echo]\ntests:\n  - vars: {q: a, ctx: {topic: t}}\n    assert:\n      - type: context-recall\n        value: polite\n  - vars: {q: b}\n"
        ])
        defer { folder.remove() }
        let config = try folder.load("c.yaml", flavor: .promptfoo)
        let registry = EvalEvaluators.registry()
        let unknown = #expect(throws: ConfigError.self) { try config.validate(tests: config.tests, registry: registry) }
        #expect(unknown?.path == "tests[0].assert[0]" && unknown?.line == 6)
        #expect(unknown?.message.contains("unknown assertion type \"context-recall\": a model-graded evaluator that this build does not include") == true)
        #expect(unknown?.message.contains("llm-rubric") == true && unknown?.message.contains("select-best") == true, "model-graded types are known")
        #expect(unknown?.message.contains("contains") == true, "the known types are listed")
        let missing = #expect(throws: ConfigError.self) { try config.validate(tests: [config.tests[1]], registry: registry) }
        #expect(
            missing?.path == "tests[1]" && missing?.message.contains("uses {{ctx.topic}}, which this test does not set") == true,
            "\(missing?.description ?? "")")
    }

    @Test("graders: options.provider and rubricPrompt are copied onto model-graded assertions without their own, by kind; ids parse like providers")
    func graders() throws {
        let folder = try ConfigFolder([
            "c.yaml": """
            prompts: ['{{q}}']
            providers: [echo]
            defaultTest:
              options:
                provider: openai:chat:default-judge
                rubricPrompt: 'Grade {{output}}'
              assert: [{type: llm-rubric, value: polite}]
            tests:
              - vars: {q: a}
                assert:
                  - {type: similar, value: a}
                  - {type: contains, value: a}
                  - {type: g-eval, value: clear, provider: {id: 'anthropic:messages:own', config: {temperature: 0.3}}}
                  - type: assert-set
                    assert: [{type: model-graded-closedqa, value: yes}]
              - vars: {q: b}
                options:
                  provider: openai:embedding:text-embedding-3-small
                assert: [{type: similar, value: b}, {type: answer-relevance}]
            """
        ])
        defer { folder.remove() }
        let config = try folder.load("c.yaml", flavor: .promptfoo)
        let first = config.tests[0].assertions.map(\.spec)
        let judge: JSONValue = ["text": "openai:chat:default-judge"]
        #expect(first.map(\.provider) == [judge, judge, nil, ["id": "anthropic:messages:own", "config": ["temperature": 0.3]], nil])
        #expect(first[0].rubricPrompt == "Grade {{output}}" && first[1].rubricPrompt == nil && first[3].rubricPrompt == "Grade {{output}}")
        #expect(first[4].assertions?[0].provider == judge, "sets pass the options on")
        let second = config.tests[1].assertions.map(\.spec)
        let embedding: JSONValue = ["embedding": "openai:embedding:text-embedding-3-small"]
        #expect(second.map(\.provider) == [embedding, embedding, embedding], "the test's options win; an embedding id serves embeddings")
        let grader = try EvalConfig.grader(id: "openai:embeddings:e", embedding: true, flavor: .promptfoo, source: "--grader")
        #expect(grader.api == .openAIEmbedding && grader.model == "e")
        #expect(try EvalConfig.grader(id: "support-judge", flavor: .tern, source: "--grader").api == .ternGateway)
        #expect(try EvalConfig.grader(id: "tern:vectors", embedding: true, flavor: .promptfoo, source: "x").api == .ternGatewayEmbedding)
        let endpoint = try EvalConfig.grader(
            id: "openai:text-embedding-3-small", config: ["apiBaseUrl": "http://e/v1"], embedding: true, flavor: .promptfoo,
            source: "x"
        ).endpoint(environment: ["OPENAI_API_KEY": "k"], server: nil)
        #expect(endpoint?.operation == .embedding && endpoint?.baseURL == "http://e/v1")
        for (id, embedding, expected) in [
            ("openai:chat:gpt-4o", true, "\"openai:chat:gpt-4o\" is not an embedding model"),
            ("openai:embedding:e", false, "is an embedding model; a judge must be a chat model"),
            ("anthropic:messages:m", true, "Anthropic has no embeddings API"),
            ("echo", false, "echo cannot grade"),
            ("bare-name", false, "not supported by tern eval: bare-name: providers"),
        ] {
            let error = #expect(throws: ConfigError.self) { try EvalConfig.grader(id: id, embedding: embedding, flavor: .promptfoo, source: "--grader") }
            #expect(error?.description.hasPrefix("--grader: ") == true && error?.message.contains(expected) == true, "\(id): \(error?.description ?? "")")
        }
        let refused = configError("prompts: [a]\nproviders: [echo]\ntests:\n  - assert: [{type: similar, value: a, provider: 'openai:chat:x'}]\n")
        #expect(
            refused
                == "c.yaml:4: tests[0].assert[0].provider: \"openai:chat:x\" is not an embedding model; name one as openai:embedding:MODEL, tern:MODEL or a Tern logical model",
            "\(refused ?? "")")
    }

    @Test("endpoints and keys are read from config and environment in promptfoo's order")
    func endpoints() throws {
        func provider(_ id: String, _ config: String = "") throws -> EvalProvider {
            let folder = try ConfigFolder([
                "c.yaml": "prompts: [a]\nproviders:\n  - id: '\(id)'\(config.isEmpty ? "" : "\n    config: {\(config)}")\ntests: [{vars: {}}]\n"
            ])
            defer { folder.remove() }
            return try folder.load("c.yaml").providers[0]
        }
        let key = ["OPENAI_API_KEY": "sk"]
        let openai = try provider("openai:chat:m")
        #expect(try openai.endpoint(environment: key, server: nil)?.baseURL == "https://api.openai.com/v1")
        #expect(try openai.endpoint(environment: key.merging(["OPENAI_BASE_URL": "http://b/v1/"]) { $1 }, server: nil)?.baseURL == "http://b/v1")
        #expect(
            try openai.endpoint(environment: key.merging(["OPENAI_BASE_URL": "http://b/v1", "OPENAI_API_BASE_URL": "http://a/v1"]) { $1 }, server: nil)?.baseURL
                == "http://a/v1", "OPENAI_API_BASE_URL wins over OPENAI_BASE_URL")
        #expect(
            try openai.endpoint(environment: key.merging(["OPENAI_API_HOST": "h.example", "OPENAI_BASE_URL": "http://b/v1"]) { $1 }, server: nil)?.baseURL
                == "https://h.example/v1")
        let configured = try provider("openai:chat:m", "apiBaseUrl: 'http://c/v1', apiKeyEnvar: OTHER")
        let endpoint = try configured.endpoint(environment: ["OTHER": "k", "OPENAI_BASE_URL": "http://b/v1"], server: nil)
        #expect(endpoint?.baseURL == "http://c/v1" && endpoint?.apiKeyEnv == "OTHER")
        let noKey = #expect(throws: ConfigError.self) { try configured.endpoint(environment: key, server: nil) }
        #expect(noKey?.message.contains("OTHER is not set") == true && noKey?.path == "providers[0].id")
        #expect(try provider("openai:chat:m", "apiKeyRequired: false").endpoint(environment: [:], server: nil)?.apiKeyEnv == nil)
        let anthropic = try provider("anthropic:messages:claude")
        let viaEnv = try anthropic.endpoint(environment: ["ANTHROPIC_API_KEY": "a", "ANTHROPIC_BASE_URL": "http://127.0.0.1:5"], server: nil)
        #expect(viaEnv?.baseURL == "http://127.0.0.1:5/v1" && viaEnv?.type == .anthropic && viaEnv?.apiKeyEnv == "ANTHROPIC_API_KEY")
        #expect(try anthropic.endpoint(environment: ["ANTHROPIC_API_KEY": "a"], server: nil)?.baseURL == "https://api.anthropic.com/v1")
        let logical = try provider("support-bot")
        #expect(throws: ConfigError.self) { try logical.endpoint(environment: ["TERN_API_KEY": "t"], server: nil) }
        #expect(throws: ConfigError.self) { try logical.endpoint(environment: [:], server: "http://tern:7777") }
        let gateway = try logical.endpoint(environment: ["TERN_API_KEY": "t"], server: "http://tern:7777/")
        #expect(
            gateway?.baseURL == "http://tern:7777/v1" && gateway?.apiKeyEnv == "TERN_API_KEY" && gateway?.isTernGateway == true
                && gateway?.model == "support-bot")
        #expect(try provider("echo").endpoint(environment: [:], server: nil) == nil)
    }

    @Test("globs: * within a folder, ** across folders")
    func globs() throws {
        let folder = try ConfigFolder(["t/a.csv": "", "t/b.yaml": "", "t/deep/c.csv": "", "u.csv": ""])
        defer { folder.remove() }
        #expect(EvalGlob.expand("t/*.csv", in: folder.url) == ["t/a.csv"])
        #expect(EvalGlob.expand("t/**/*.csv", in: folder.url) == ["t/a.csv", "t/deep/c.csv"])
        #expect(EvalGlob.expand("*.csv", in: folder.url) == ["u.csv"])
        #expect(EvalGlob.expand("t/?.yaml", in: folder.url) == ["t/b.yaml"])
    }
}
