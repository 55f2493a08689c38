//! Prometheus metrics: request counters and latency histograms by route, pool gauges, and
//! the database query counter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Request counters, latency histograms and pool gauges.
pub struct Metrics {
    /// Queries run by this server's pool (shared with its connections).
    pub queries: Arc<AtomicU64>,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~4 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Metrics {
    /// Metrics of one server whose pool counts its queries into `queries`.
    pub fn new(queries: Arc<AtomicU64>) -> Self {
        let mut registry = Registry::with_prefix("hindsight");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        Metrics {
            queries,
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
        }
    }

    /// Counts one served request under its route pattern.
    pub fn observe(&self, method: String, route: String, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(elapsed.as_secs_f64());
    }

    /// Everything in the Prometheus text format, with the pool's current `connections` and
    /// `idle` connections.
    pub fn encode(&self, connections: u32, idle: u32) -> Result<String, std::fmt::Error> {
        self.pool_connections.set(i64::from(connections));
        self.pool_idle.set(i64::from(idle));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        // The query counter lives outside the registry (it is shared with the pool's
        // connections); written by hand in the same exposition format, before `# EOF`.
        let queries = self.queries.load(Ordering::Relaxed);
        let counter = format!(
            "# HELP hindsight_db_queries Database queries run.\n# TYPE hindsight_db_queries counter\nhindsight_db_queries_total {queries}\n"
        );
        match out.rfind("# EOF") {
            Some(at) => out.insert_str(at, &counter),
            None => out.push_str(&counter),
        }
        Ok(out)
    }
}
