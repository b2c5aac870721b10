//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format. Hot paths hold
//! pre-resolved per-app handles ([`AppMetrics`]) so counting a frame is one atomic add, not a
//! label lookup.
//!
//! Every metric needs a name of its own: OpenMetrics parsers refuse a family declared twice,
//! even when one is a gauge and the other a counter (whose samples end in `_total`).

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

type ByApp = Vec<(String, String)>;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    connections: Family<ByApp, Gauge>,
    connections_total: Family<ByApp, Counter>,
    subscriptions: Family<ByApp, Gauge>,
    messages_in: Family<ByApp, Counter>,
    messages_out: Family<ByApp, Counter>,
    slow_consumers: Family<ByApp, Counter>,
    webhooks_sent: Family<ByApp, Counter>,
    webhook_failures: Family<ByApp, Counter>,
    api_requests: Family<Vec<(String, String)>, Counter>,
    cluster_dropped: Counter,
}

/// One app's handles.
#[derive(Debug, Clone)]
pub struct AppMetrics {
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// Connections ever accepted.
    pub connections_total: Counter,
    /// Channel subscriptions held by open connections.
    pub subscriptions: Gauge,
    /// Frames received from clients.
    pub messages_in: Counter,
    /// Frames written to clients.
    pub messages_out: Counter,
    /// Connections closed because they could not keep up (4100).
    pub slow_consumers: Counter,
    /// Webhook batches delivered.
    pub webhooks_sent: Counter,
    /// Webhook attempts that failed (each retry counts).
    pub webhook_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `parley_realtime_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("parley_realtime");
        let metrics = Self {
            registry: Registry::default(),
            connections: Family::default(),
            connections_total: Family::default(),
            subscriptions: Family::default(),
            messages_in: Family::default(),
            messages_out: Family::default(),
            slow_consumers: Family::default(),
            webhooks_sent: Family::default(),
            webhook_failures: Family::default(),
            api_requests: Family::default(),
            cluster_dropped: Counter::default(),
        };
        registry.register(
            "connections",
            "Open WebSocket connections",
            metrics.connections.clone(),
        );
        registry.register(
            "connections_accepted",
            "WebSocket connections accepted",
            metrics.connections_total.clone(),
        );
        registry.register(
            "subscriptions",
            "Channel subscriptions",
            metrics.subscriptions.clone(),
        );
        registry.register(
            "messages_received",
            "Frames received from clients",
            metrics.messages_in.clone(),
        );
        registry.register(
            "messages_sent",
            "Frames sent to clients",
            metrics.messages_out.clone(),
        );
        registry.register(
            "slow_consumers_disconnected",
            "Connections closed because their send queue was full",
            metrics.slow_consumers.clone(),
        );
        registry.register(
            "webhooks_delivered",
            "Webhook batches delivered",
            metrics.webhooks_sent.clone(),
        );
        registry.register(
            "webhook_failures",
            "Failed webhook attempts",
            metrics.webhook_failures.clone(),
        );
        registry.register(
            "api_requests",
            "HTTP API requests by status",
            metrics.api_requests.clone(),
        );
        registry.register(
            "cluster_dropped",
            "Messages for other nodes dropped because Redis could not keep up",
            metrics.cluster_dropped.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// The handles for one app.
    pub fn for_app(&self, app_id: &str) -> AppMetrics {
        let labels = vec![("app".to_string(), app_id.to_string())];
        AppMetrics {
            connections: self.connections.get_or_create(&labels).clone(),
            connections_total: self.connections_total.get_or_create(&labels).clone(),
            subscriptions: self.subscriptions.get_or_create(&labels).clone(),
            messages_in: self.messages_in.get_or_create(&labels).clone(),
            messages_out: self.messages_out.get_or_create(&labels).clone(),
            slow_consumers: self.slow_consumers.get_or_create(&labels).clone(),
            webhooks_sent: self.webhooks_sent.get_or_create(&labels).clone(),
            webhook_failures: self.webhook_failures.get_or_create(&labels).clone(),
        }
    }

    /// Counts messages for other nodes that had to be dropped.
    pub fn cluster_dropped(&self) -> Counter {
        self.cluster_dropped.clone()
    }

    /// Counts one HTTP API request.
    pub fn api_request(&self, endpoint: &str, status: u16) {
        let labels = vec![
            ("endpoint".to_string(), endpoint.to_string()),
            ("status".to_string(), status.to_string()),
        ];
        self.api_requests.get_or_create(&labels).inc();
    }

    /// The OpenMetrics text exposition (served as [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_declared_once() {
        let metrics = Metrics::new();
        let app = metrics.for_app("1");
        app.connections.inc();
        app.connections_total.inc();
        metrics.api_request("/apps/{app_id}/events", 200);
        let text = metrics.render();
        let mut names: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split(' ').next())
            .collect();
        let declared = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), declared, "{text}");
        assert!(
            text.contains("parley_realtime_connections{app=\"1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("parley_realtime_connections_accepted_total{app=\"1\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
