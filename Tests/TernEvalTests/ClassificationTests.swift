import Testing
@testable import TernEval

@Suite struct ClassificationTests {
    // 11 items over 5 labels, built so that one class is never predicted correctly ("fish"), one is only
    // ever predicted ("lizard", never expected: recall 0/0), and the others mix hits and misses.
    static let pairs: [(expected: String, predicted: String)] =
        Array(repeating: ("cat", "cat"), count: 3) + [("cat", "dog")]
        + Array(repeating: ("dog", "dog"), count: 2) + [("dog", "cat")]
        + [("bird", "bird"), ("bird", "dog"), ("fish", "cat"), ("bird", "lizard")]

    @Test func confusionMatrixAndPerClassMetrics() {
        let report = ClassificationReport(pairs: Self.pairs)
        // Checked by hand, and identical to scikit-learn 1.x confusion_matrix / precision_recall_fscore_support
        // (labels sorted, zero_division=0).
        #expect(report.labels == ["bird", "cat", "dog", "fish", "lizard"])
        #expect(
            report.confusionMatrix == [
                [1, 0, 1, 0, 1],  // bird
                [0, 3, 1, 0, 0],  // cat
                [0, 1, 2, 0, 0],  // dog
                [0, 1, 0, 0, 0],  // fish
                [0, 0, 0, 0, 0],  // lizard
            ])
        #expect(report.total == 11)
        #expect(close(report.accuracy, 6.0 / 11.0))  // 0.5454545454545454
        let bird = report.metrics(for: "bird")!
        #expect(bird.precision == 1 && close(bird.recall, 1.0 / 3.0) && close(bird.f1, 0.5) && bird.support == 3)
        let cat = report.metrics(for: "cat")!
        // TP 3, predicted 5 (3 + dog→cat + fish→cat), support 4.
        #expect(close(cat.precision, 0.6) && close(cat.recall, 0.75) && close(cat.f1, 2.0 / 3.0) && cat.predicted == 5)
        let dog = report.metrics(for: "dog")!
        #expect(close(dog.precision, 0.5) && close(dog.recall, 2.0 / 3.0) && close(dog.f1, 0.5714285714285714))
        // Never predicted: precision 0/0 → 0. Never expected: recall 0/0 → 0.
        let fish = report.metrics(for: "fish")!
        #expect(fish.precision == 0 && fish.recall == 0 && fish.f1 == 0 && fish.support == 1 && fish.predicted == 0)
        let lizard = report.metrics(for: "lizard")!
        #expect(lizard.precision == 0 && lizard.recall == 0 && lizard.support == 0 && lizard.predicted == 1)
    }

    @Test func averages() {
        let report = ClassificationReport(pairs: Self.pairs)
        // scikit-learn: average="macro" → (0.42, 0.35, 0.3476190476190476);
        // average="weighted" → (0.6272727272727273, 0.5454545454545454, 0.5346320346320346).
        #expect(close(report.macroPrecision, 0.42))
        #expect(close(report.macroRecall, 0.35))
        #expect(close(report.macroF1, 0.3476190476190476))
        #expect(close(report.weightedPrecision, 0.6272727272727273))
        #expect(close(report.weightedRecall, 0.5454545454545454))
        #expect(close(report.weightedF1, 0.5346320346320346))
    }

    @Test func labelOrderAndEdgeCases() {
        let ordered = ClassificationReport(expected: ["yes", "no", "no"], predicted: ["yes", "yes", "no"], labels: ["yes", "maybe", "yes"])
        #expect(ordered.labels == ["yes", "maybe", "no"])  // given order first, duplicates dropped, the rest sorted after
        #expect(ordered.confusionMatrix == [[1, 0, 0], [0, 0, 0], [1, 0, 1]])
        #expect(ordered.metrics(for: "maybe")!.f1 == 0)

        let empty = ClassificationReport(pairs: [])
        #expect(empty.labels.isEmpty && empty.accuracy == 0 && empty.macroF1 == 0 && empty.weightedF1 == 0)

        let perfect = ClassificationReport(expected: ["a", "b"], predicted: ["a", "b"])
        #expect(perfect.accuracy == 1 && perfect.macroF1 == 1)
        #expect(ClassificationReport(expected: ["B", "a"], predicted: ["B", "a"]).labels == ["B", "a"])  // code point order
    }
}
