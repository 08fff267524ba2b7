extension Duration {
    /// Seconds as a floating point number (for logs, metrics and arithmetic on clocks).
    public var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
