// Classification metrics over a run's (expected label, predicted label) pairs: accuracy,
// per-class precision, recall and F1, their macro and support-weighted averages, and the
// confusion matrix. Definitions match scikit-learn's `classification_report` with
// `zero_division=0`.

/// Precision, recall and F1 of one class.
public struct ClassMetrics: Sendable, Codable, Equatable {
    public var label: String
    /// TP / (TP + FP): of the items predicted as this class, the share that were. 0 when the class
    /// was never predicted.
    public var precision: Double
    /// TP / (TP + FN): of the items of this class, the share predicted as such. 0 when the class
    /// never occurs in the expected labels.
    public var recall: Double
    /// 2PR / (P + R); 0 when P + R = 0.
    public var f1: Double
    /// Items whose expected label is this class (TP + FN).
    public var support: Int
    /// Items predicted as this class (TP + FP).
    public var predicted: Int
    public var truePositives: Int

    public init(label: String, precision: Double, recall: Double, f1: Double, support: Int, predicted: Int, truePositives: Int) {
        self.label = label
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.support = support
        self.predicted = predicted
        self.truePositives = truePositives
    }
}

/// Classification metrics of a run.
///
/// Classes are the union of expected and predicted labels, sorted by their Unicode code points
/// (scikit-learn's order), unless `labels` fixes the order. Every division by zero yields 0 (a
/// class never predicted has precision 0, a class never expected has recall 0, an empty run has
/// accuracy 0), as scikit-learn with `zero_division=0`; such classes still count in the macro
/// averages (they pull them down), again as scikit-learn does.
public struct ClassificationReport: Sendable, Codable, Equatable {
    /// The classes, in the order of the matrix rows and columns.
    public var labels: [String]
    /// `confusionMatrix[i][j]`: items expected as `labels[i]` and predicted as `labels[j]`.
    public var confusionMatrix: [[Int]]
    public var classes: [ClassMetrics]
    /// Share of items whose predicted label equals the expected one.
    public var accuracy: Double
    /// Unweighted means over classes.
    public var macroPrecision: Double
    public var macroRecall: Double
    /// The mean of the per-class F1 scores (not the F1 of the macro precision and recall).
    public var macroF1: Double
    /// Means over classes weighted by support.
    public var weightedPrecision: Double
    public var weightedRecall: Double
    public var weightedF1: Double
    public var total: Int

    /// Computes the report from (expected, predicted) pairs. `labels`, when given, fixes the class
    /// order (and may list classes absent from the pairs); labels found only in the pairs follow it,
    /// sorted.
    public init(pairs: [(expected: String, predicted: String)], labels: [String]? = nil) {
        var order: [String] = []
        var index: [String: Int] = [:]
        for label in labels ?? [] where index[label] == nil {
            index[label] = order.count
            order.append(label)
        }
        let extra = Set(pairs.flatMap { [$0.expected, $0.predicted] }).filter { index[$0] == nil }.sorted {
            $0.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.unicodeScalars.map(\.value))
        }
        for label in extra {
            index[label] = order.count
            order.append(label)
        }
        self.labels = order

        var matrix = [[Int]](repeating: [Int](repeating: 0, count: order.count), count: order.count)
        var correct = 0
        for pair in pairs {
            matrix[index[pair.expected]!][index[pair.predicted]!] += 1
            if pair.expected == pair.predicted { correct += 1 }
        }
        confusionMatrix = matrix
        total = pairs.count
        accuracy = Self.ratio(correct, pairs.count)

        var classes: [ClassMetrics] = []
        for (position, label) in order.enumerated() {
            let truePositives = matrix[position][position]
            let support = matrix[position].reduce(0, +)
            let predicted = matrix.reduce(0) { $0 + $1[position] }
            let precision = Self.ratio(truePositives, predicted)
            let recall = Self.ratio(truePositives, support)
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            classes.append(
                ClassMetrics(
                    label: label, precision: precision, recall: recall, f1: f1, support: support,
                    predicted: predicted, truePositives: truePositives))
        }
        self.classes = classes

        let count = Double(classes.count)
        macroPrecision = count > 0 ? classes.map(\.precision).reduce(0, +) / count : 0
        macroRecall = count > 0 ? classes.map(\.recall).reduce(0, +) / count : 0
        macroF1 = count > 0 ? classes.map(\.f1).reduce(0, +) / count : 0
        let supportTotal = Double(classes.map(\.support).reduce(0, +))
        func weighted(_ metric: (ClassMetrics) -> Double) -> Double {
            supportTotal > 0 ? classes.map { metric($0) * Double($0.support) }.reduce(0, +) / supportTotal : 0
        }
        weightedPrecision = weighted(\.precision)
        weightedRecall = weighted(\.recall)
        weightedF1 = weighted(\.f1)
    }

    /// Computes the report from parallel lists of expected and predicted labels (pairs beyond the
    /// shorter list are ignored).
    public init(expected: [String], predicted: [String], labels: [String]? = nil) {
        self.init(pairs: zip(expected, predicted).map { (expected: $0, predicted: $1) }, labels: labels)
    }

    /// The metrics of one class.
    public func metrics(for label: String) -> ClassMetrics? {
        classes.first { $0.label == label }
    }

    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator > 0 ? Double(numerator) / Double(denominator) : 0
    }
}
