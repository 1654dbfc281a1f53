public enum TernVersion {
    public static let current = "0.1.0"
}
