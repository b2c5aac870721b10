//! The result of a run: an ordered list of named figures printed once for people (aligned
//! lines, error samples) and once as a single JSON line for the README and scripts.

use serde_json::Value;

use crate::fleet::SetupStats;
use crate::seq::LossTally;
use crate::stats::{Errors, LatencySummary};
use crate::system::CpuUse;

/// One figure: JSON key, human label, value, unit shown to humans.
struct Field {
    key: String,
    label: String,
    value: Value,
    unit: &'static str,
}

pub struct Report {
    scenario: &'static str,
    fields: Vec<Field>,
    samples: Vec<String>,
}

/// Rounds to 3 decimals so the JSON line stays readable.
fn round3(v: f64) -> Value {
    let r = (v * 1000.0).round() / 1000.0;
    serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
}

impl Report {
    pub fn new(scenario: &'static str, target: &crate::cli::Target) -> Report {
        let mut report = Report {
            scenario,
            fields: Vec::new(),
            samples: Vec::new(),
        };
        report.text(
            "server",
            "server under test",
            &format!("{}:{}", target.host, target.port),
        );
        report
    }

    pub fn int(&mut self, key: &str, label: &str, value: u64, unit: &'static str) -> &mut Self {
        self.push(key, label, Value::from(value), unit)
    }

    pub fn float(&mut self, key: &str, label: &str, value: f64, unit: &'static str) -> &mut Self {
        self.push(key, label, round3(value), unit)
    }

    pub fn opt_int(
        &mut self,
        key: &str,
        label: &str,
        value: Option<u64>,
        unit: &'static str,
    ) -> &mut Self {
        self.push(key, label, value.map_or(Value::Null, Value::from), unit)
    }

    pub fn opt_float(
        &mut self,
        key: &str,
        label: &str,
        value: Option<f64>,
        unit: &'static str,
    ) -> &mut Self {
        self.push(key, label, value.map_or(Value::Null, round3), unit)
    }

    pub fn text(&mut self, key: &str, label: &str, value: &str) -> &mut Self {
        self.push(key, label, Value::from(value), "")
    }

    fn push(&mut self, key: &str, label: &str, value: Value, unit: &'static str) -> &mut Self {
        self.fields.push(Field {
            key: key.to_string(),
            label: label.to_string(),
            value,
            unit,
        });
        self
    }

    pub fn setup(&mut self, s: &SetupStats) -> &mut Self {
        self.int(
            "connections",
            "connections requested",
            s.requested as u64,
            "",
        )
        .int("connections_ok", "connections subscribed", s.ok as u64, "")
        .int(
            "connections_failed",
            "connections failed",
            s.failed as u64,
            "",
        )
        .float("setup_secs", "setup wall time", s.wall_secs, "s")
        .float(
            "connect_rate",
            "subscribed connections / s",
            s.per_sec,
            "/s",
        )
        .float(
            "handshake_p50_ms",
            "connect→subscribed p50",
            s.handshake.p50_ms,
            "ms",
        )
        .float(
            "handshake_p99_ms",
            "connect→subscribed p99",
            s.handshake.p99_ms,
            "ms",
        )
        .float(
            "handshake_max_ms",
            "connect→subscribed max",
            s.handshake.max_ms,
            "ms",
        )
        .opt_int(
            "listen_overflows",
            "accept-queue overflows (host)",
            s.listen_overflows,
            "",
        )
    }

    /// Delivery latency under `prefix` (e.g. `latency` → `latency_p50_ms`).
    pub fn latency(&mut self, prefix: &str, what: &str, l: &LatencySummary) -> &mut Self {
        self.int(
            &format!("{prefix}_samples"),
            &format!("{what} samples"),
            l.count,
            "",
        )
        .float(
            &format!("{prefix}_p50_ms"),
            &format!("{what} p50"),
            l.p50_ms,
            "ms",
        )
        .float(
            &format!("{prefix}_p90_ms"),
            &format!("{what} p90"),
            l.p90_ms,
            "ms",
        )
        .float(
            &format!("{prefix}_p99_ms"),
            &format!("{what} p99"),
            l.p99_ms,
            "ms",
        )
        .float(
            &format!("{prefix}_p999_ms"),
            &format!("{what} p99.9"),
            l.p999_ms,
            "ms",
        )
        .float(
            &format!("{prefix}_max_ms"),
            &format!("{what} max"),
            l.max_ms,
            "ms",
        )
    }

    pub fn cpu(&mut self, cpu: CpuUse) -> &mut Self {
        self.opt_float(
            "server_cpu_pct",
            "server CPU (of one core)",
            cpu.server,
            "%",
        )
        .opt_float(
            "loadgen_cpu_pct",
            "generator CPU (of one core)",
            cpu.generator,
            "%",
        )
        .opt_float("db_cpu_pct", "database CPU (of one core)", cpu.db, "%")
        .opt_float(
            "other_cpu_pct",
            "other processes' CPU (host)",
            cpu.others,
            "%",
        )
    }

    pub fn loss(&mut self, t: &LossTally) -> &mut Self {
        self.int("expected_deliveries", "expected deliveries", t.expected, "")
            .int("delivered", "delivered (distinct)", t.delivered, "")
            .int("lost", "lost", t.lost, "")
            .float("loss_pct", "loss", t.loss_pct(), "%")
            .int("duplicates", "duplicate deliveries", t.duplicates, "")
            .int("reordered", "out-of-order deliveries", t.reordered, "")
            .int(
                "unexpected",
                "delivered after a failed send",
                t.unexpected,
                "",
            )
    }

    /// Error counts by kind, plus the first distinct messages for the human summary.
    pub fn errors(&mut self, errors: &Errors) -> &mut Self {
        let counts = errors.counts();
        let total: u64 = counts.values().sum();
        let map: serde_json::Map<String, Value> = counts
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        self.int("errors", "errors", total, "");
        self.push("error_kinds", "error kinds", Value::Object(map), "");
        self.samples = errors.samples();
        self
    }

    pub fn to_json_line(&self) -> String {
        let mut line = format!("{{\"scenario\":{}", Value::from(self.scenario));
        for f in &self.fields {
            line.push(',');
            line.push_str(&Value::from(f.key.as_str()).to_string());
            line.push(':');
            line.push_str(&f.value.to_string());
        }
        line.push('}');
        line
    }

    pub fn to_human(&self) -> String {
        let mut out = format!("== {} ==\n", self.scenario);
        for f in &self.fields {
            let value = match &f.value {
                Value::Null => "n/a".to_string(),
                Value::String(s) => s.clone(),
                Value::Object(m) if m.is_empty() => "none".to_string(),
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                v => v.to_string(),
            };
            let unit = if f.value.is_null() { "" } else { f.unit };
            let line = format!("  {:<36} {value} {unit}", f.label);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if !self.samples.is_empty() {
            out.push_str("  first errors seen:\n");
            for s in &self.samples {
                out.push_str(&format!("    - {s}\n"));
            }
        }
        out
    }

    /// True when nothing could be measured: no connection subscribed.
    pub fn measured_nothing(&self) -> bool {
        self.fields
            .iter()
            .any(|f| f.key == "connections_ok" && f.value.as_u64() == Some(0))
    }

    /// Human summary first, then the JSON on the very last line (scripts take `tail -n 1`).
    pub fn print(&self) {
        print!("{}", self.to_human());
        println!("{}", self.to_json_line());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> crate::cli::Target {
        crate::cli::Target {
            host: "127.0.0.1".into(),
            port: 1,
            api_port: None,
            app_id: "a".into(),
            key: "k".into(),
            secret: "s".into(),
            server_pid: None,
            db_process: None,
        }
    }

    #[test]
    fn json_line_keeps_field_order_and_is_valid() {
        let mut r = Report::new("fanout", &target());
        r.int("b", "B", 2, "")
            .float("a", "A", 1.23456, "ms")
            .opt_int("c", "C", None, "");
        let line = r.to_json_line();
        assert_eq!(
            line,
            r#"{"scenario":"fanout","server":"127.0.0.1:1","b":2,"a":1.235,"c":null}"#
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["b"], 2);
    }

    #[test]
    fn errors_are_nested_in_json_and_listed_for_humans() {
        let e = Errors::default();
        e.count("publish", "HTTP 401");
        let mut r = Report::new("x", &target());
        r.errors(&e);
        let v: Value = serde_json::from_str(&r.to_json_line()).unwrap();
        assert_eq!(v["errors"], 1);
        assert_eq!(v["error_kinds"]["publish"], 1);
        let human = r.to_human();
        assert!(human.contains("publish=1"), "{human}");
        assert!(human.contains("publish: HTTP 401"), "{human}");
    }

    #[test]
    fn nothing_measured_only_without_connections() {
        let mut r = Report::new("x", &target());
        r.int("connections_ok", "ok", 0, "");
        assert!(r.measured_nothing());
        let mut r = Report::new("x", &target());
        r.int("connections_ok", "ok", 3, "");
        assert!(!r.measured_nothing());
    }

    #[test]
    fn missing_values_print_without_unit() {
        let mut r = Report::new("x", &target());
        r.opt_float("cpu", "server CPU", None, "%");
        assert!(r
            .to_human()
            .contains("server CPU                           n/a\n"));
    }
}
