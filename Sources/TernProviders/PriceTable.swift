import Foundation
public import TernCore

/// USD prices per million tokens of common models, kept as data: edit `PriceTable.data` (JSON) to
/// update. A deployment's own `price` overrides this table. Dated variants (`gpt-4o-mini-2024-07-18`)
/// match their base name; the longest matching name wins.
public struct PriceTable: Sendable {
    let prices: [String: Price]

    public init(json: String = PriceTable.data) {
        var prices: [String: Price] = [:]
        if let object = try? JSONValue.parse(Data(json.utf8)).object {
            for (model, entry) in object {
                guard let input = entry["input"]?.double, let output = entry["output"]?.double else { continue }
                prices[model] = Price(inputPerMTok: input, outputPerMTok: output, cachedInputPerMTok: entry["cached_input"]?.double)
            }
        }
        self.prices = prices
    }

    public static let shared = PriceTable()

    /// The price of an upstream model name, if known.
    public func price(for model: String) -> Price? {
        let name = model.lowercased()
        if let exact = prices[name] { return exact }
        // Strip a provider prefix ("openai/gpt-4o") and try again, then the longest known prefix.
        let bare = name.split(separator: "/").last.map(String.init) ?? name
        if let exact = prices[bare] { return exact }
        var best: (String, Price)?
        for (known, price) in prices where bare.hasPrefix(known + "-") || bare.hasPrefix(known + "@") {
            if best == nil || known.count > best!.0.count { best = (known, price) }
        }
        return best?.1
    }

    public var count: Int { prices.count }

    /// Prices in USD per million tokens (input, output, cached input), from the vendors' published price lists.
    public static let data = """
        {
          "gpt-4o": {"input": 2.50, "output": 10.00, "cached_input": 1.25},
          "gpt-4o-mini": {"input": 0.15, "output": 0.60, "cached_input": 0.075},
          "gpt-4.1": {"input": 2.00, "output": 8.00, "cached_input": 0.50},
          "gpt-4.1-mini": {"input": 0.40, "output": 1.60, "cached_input": 0.10},
          "gpt-4.1-nano": {"input": 0.10, "output": 0.40, "cached_input": 0.025},
          "gpt-4-turbo": {"input": 10.00, "output": 30.00},
          "gpt-4": {"input": 30.00, "output": 60.00},
          "gpt-3.5-turbo": {"input": 0.50, "output": 1.50},
          "gpt-5": {"input": 1.25, "output": 10.00, "cached_input": 0.125},
          "gpt-5-mini": {"input": 0.25, "output": 2.00, "cached_input": 0.025},
          "gpt-5-nano": {"input": 0.05, "output": 0.40, "cached_input": 0.005},
          "o1": {"input": 15.00, "output": 60.00, "cached_input": 7.50},
          "o1-mini": {"input": 1.10, "output": 4.40, "cached_input": 0.55},
          "o3": {"input": 2.00, "output": 8.00, "cached_input": 0.50},
          "o3-mini": {"input": 1.10, "output": 4.40, "cached_input": 0.55},
          "o4-mini": {"input": 1.10, "output": 4.40, "cached_input": 0.275},
          "text-embedding-3-small": {"input": 0.02, "output": 0.0},
          "text-embedding-3-large": {"input": 0.13, "output": 0.0},
          "text-embedding-ada-002": {"input": 0.10, "output": 0.0},
          "all-minilm-l6-v2": {"input": 0.0, "output": 0.0},
          "claude-3-5-haiku": {"input": 0.80, "output": 4.00, "cached_input": 0.08},
          "claude-3-5-haiku-latest": {"input": 0.80, "output": 4.00, "cached_input": 0.08},
          "claude-3-5-sonnet": {"input": 3.00, "output": 15.00, "cached_input": 0.30},
          "claude-3-5-sonnet-latest": {"input": 3.00, "output": 15.00, "cached_input": 0.30},
          "claude-3-7-sonnet": {"input": 3.00, "output": 15.00, "cached_input": 0.30},
          "claude-3-7-sonnet-latest": {"input": 3.00, "output": 15.00, "cached_input": 0.30},
          "claude-3-haiku": {"input": 0.25, "output": 1.25, "cached_input": 0.03},
          "claude-3-opus": {"input": 15.00, "output": 75.00, "cached_input": 1.50},
          "claude-haiku-4-5": {"input": 1.00, "output": 5.00, "cached_input": 0.10},
          "claude-sonnet-4": {"input": 3.00, "output": 15.00, "cached_input": 0.30},
          "claude-sonnet-4-5": {"input": 3.00, "output": 15.00, "cached_input": 0.30},
          "claude-opus-4": {"input": 15.00, "output": 75.00, "cached_input": 1.50},
          "claude-opus-4-1": {"input": 15.00, "output": 75.00, "cached_input": 1.50},
          "mistral-large-latest": {"input": 2.00, "output": 6.00},
          "mistral-small-latest": {"input": 0.20, "output": 0.60},
          "deepseek-chat": {"input": 0.27, "output": 1.10, "cached_input": 0.07},
          "deepseek-reasoner": {"input": 0.55, "output": 2.19, "cached_input": 0.14},
          "llama-3.1-8b-instant": {"input": 0.05, "output": 0.08},
          "llama-3.3-70b-versatile": {"input": 0.59, "output": 0.79}
        }
        """
}
