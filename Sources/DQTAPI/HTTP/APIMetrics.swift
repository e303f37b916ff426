public import Prometheus
import Synchronization

/// Prometheus metrics of the service.
public final class APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    private struct Instruments: Sendable {
        let counter: Prometheus.Counter
        let histogram: Prometheus.DurationHistogram
    }
    private let instruments = Mutex<[String: Instruments]>([:])

    // Computed: MetricNameDescriptor is not Sendable; the registry keeps one instrument per name and labels.
    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dqt_api", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by method and status.")
    }
    private static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "dqt_api", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request duration by method.")
    }
    private static var batchOperations: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dqt_api", metricName: "batch_operations", unitName: "total", helpText: "Batch operations by outcome.")
    }

    func record(method: String, status: Int, duration: Duration) {
        let cacheKey = "\(method) \(status)"
        let found: Instruments
        if let cached = instruments.withLock({ $0[cacheKey] }) {
            found = cached
        } else {
            found = Instruments(
                counter: registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("status", String(status))]),
                histogram: registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: [("method", method)], buckets: Self.buckets))
            instruments.withLock { $0[cacheKey] = found }
        }
        found.counter.increment()
        found.histogram.recordNanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + Int64(duration.components.attoseconds / 1_000_000_000))
    }

    func recordBatch(operations: Int, failures: Int) {
        registry.makeCounter(descriptor: Self.batchOperations, labels: [("outcome", "applied")]).increment(by: Int64(operations - failures))
        registry.makeCounter(descriptor: Self.batchOperations, labels: [("outcome", "failed")]).increment(by: Int64(failures))
    }
}
