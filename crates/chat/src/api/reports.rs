//! `GET /api/agent/reports`: how the team is doing over a range of time, as JSON or CSV.
//!
//! Admins see every conversation and may narrow to a widget or an agent; an agent sees only the
//! conversations assigned to them, on the widgets they may see (another agent's figures are 403,
//! a widget they may not see 404, as if it did not exist). The figures are the store's
//! ([`parley_store::Reports`]); what each one means is in `docs/agent-api.md`.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use parley_store::{Report, ReportFigures, ReportQuery, Role};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    extract::{AgentAuth, ApiQuery},
    AppState,
};
use crate::{
    error::ApiError,
    reports::{fold, offsets, period, Period, Tally},
};

/// How long a conversation the bot still has must have been quiet to count as resolved by it.
pub const BOT_IDLE_HOURS: i64 = 24;

/// Query of `GET /api/agent/reports`. Every value is text, so that a malformed one is a 422
/// naming it; an empty one is as if it were absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    tz: Option<String>,
    #[serde(default)]
    widget_id: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    /// `json` (the default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn id(value: &Option<String>, name: &str) -> Result<Option<i64>, ApiError> {
    given(value)
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::Validation(format!("{name} must be a positive integer")))
        })
        .transpose()
}

/// Whether the answer is CSV: `format=csv`, or no `format` and an `Accept` that asks for
/// `text/csv`.
fn wants_csv(params: &ReportParams, headers: &HeaderMap) -> Result<bool, ApiError> {
    match given(&params.format) {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::Validation("format must be json or csv".into())),
        None => Ok(headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.split(';').next().unwrap_or("").trim() == "text/csv")),
    }
}

/// `GET /api/agent/reports?from=&to=&tz=&widget_id=&agent_id=&format=`.
pub async fn report(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let period = period(
        given(&params.from),
        given(&params.to),
        params.tz.as_deref().map(str::trim),
        now,
    )?;
    let csv = wants_csv(&params, &headers)?;
    let widget_id = id(&params.widget_id, "widget_id")?;
    let agent_id = id(&params.agent_id, "agent_id")?;
    let service = &state.service;
    let store = &service.store;
    let admin = agent.role == Role::Admin;

    if let Some(widget_id) = widget_id {
        if store.widget(widget_id).await?.is_none()
            || !service.agent_sees(&agent, widget_id).await?
        {
            return Err(ApiError::NotFound("widget"));
        }
    }
    let agent_id = if admin {
        if let Some(id) = agent_id {
            store.agent(id).await?.ok_or(ApiError::NotFound("agent"))?;
        }
        agent_id
    } else {
        if agent_id.is_some_and(|id| id != agent.id) {
            return Err(ApiError::Forbidden(
                "agents see only their own figures".into(),
            ));
        }
        Some(agent.id)
    };
    let widget_ids = match widget_id {
        Some(id) => Some(vec![id]),
        None if admin => None,
        None => {
            let given = store.agent_widgets(agent.id).await?;
            (!given.is_empty()).then_some(given)
        }
    };
    let (utc_offset, offset_changes) = offsets(period.tz, period.from, period.to);
    let figures = store
        .report(&ReportQuery {
            from: period.from,
            to: period.to,
            widget_ids,
            agent_id,
            idle_before: now - Duration::hours(BOT_IDLE_HOURS),
            utc_offset,
            offset_changes,
        })
        .await?;

    let widgets = store.widgets().await?;
    let agents = store.agents().await?;
    let widget_names: HashMap<i64, String> =
        widgets.iter().map(|w| (w.id, w.name.clone())).collect();
    let agent_names: HashMap<i64, String> = agents.iter().map(|a| (a.id, a.name.clone())).collect();
    let names = Names {
        widgets: &widget_names,
        agents: &agent_names,
    };
    if csv {
        return Ok(csv_answer(&period, &figures, &names));
    }
    let (hours, days) = fold(&figures.buckets, period.first_day, period.last_day);
    // What the person may narrow a report to: admins every widget and agent, an agent the
    // widgets they answer and themselves.
    let visible: Vec<i64> = if admin {
        widgets.iter().map(|w| w.id).collect()
    } else {
        service.widgets_of(&agent).await?
    };
    let widget_choices: Vec<Value> = widgets
        .iter()
        .filter(|w| visible.contains(&w.id))
        .map(|w| json!({"id": w.id, "name": w.name, "revoked": w.revoked_at.is_some()}))
        .collect();
    let agent_choices: Vec<Value> = agents
        .iter()
        .filter(|a| admin || a.id == agent.id)
        .map(|a| json!({"id": a.id, "name": a.name}))
        .collect();
    Ok(Json(json!({
        "success": true,
        "choices": { "widgets": widget_choices, "agents": agent_choices },
        "range": {
            "from": local_time(period.from, &period),
            "to": local_time(period.to, &period),
            "tz": period.tz.name(),
            "first_day": period.first_day.to_string(),
            "last_day": period.last_day.to_string(),
        },
        "filters": { "widget_id": widget_id, "agent_id": agent_id },
        "bot_idle_hours": BOT_IDLE_HOURS,
        "generated_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "totals": figures_json(&figures.totals),
        "by_widget": figures.by_widget.iter().map(|(id, f)| {
            let mut row = Map::new();
            row.insert("widget_id".into(), (*id).into());
            row.insert("name".into(), names.widget(*id).into());
            row.extend(figures_json(f));
            Value::Object(row)
        }).collect::<Vec<_>>(),
        "by_agent": figures.by_agent.iter().map(|(id, f)| {
            let mut row = Map::new();
            row.insert("agent_id".into(), (*id).into());
            row.insert("name".into(), names.agent(*id).into());
            row.extend(figures_json(f));
            Value::Object(row)
        }).collect::<Vec<_>>(),
        "busiest_hours": hours.iter().enumerate().map(|(hour, t)| json!({
            "hour": hour, "conversations": t.conversations, "handoffs": t.handoffs,
        })).collect::<Vec<_>>(),
        "by_day": days.iter().map(|(day, t)| json!({
            "date": day.to_string(), "conversations": t.conversations, "handoffs": t.handoffs,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// Widgets' and agents' names for the breakdowns.
struct Names<'a> {
    widgets: &'a HashMap<i64, String>,
    agents: &'a HashMap<i64, String>,
}

impl Names<'_> {
    fn widget(&self, id: i64) -> String {
        self.widgets
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("Widget {id}"))
    }
    fn agent(&self, id: i64) -> String {
        self.agents
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("Agent {id}"))
    }
}

fn local_time(at: DateTime<Utc>, period: &Period) -> String {
    at.with_timezone(&period.tz)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `part / whole`, rounded to 4 decimals; `None` when `whole` is 0.
fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10_f64.powi(decimals);
    (value * scale).round() / scale
}

fn seconds(ms: Option<f64>) -> Option<f64> {
    ms.map(|ms| round(ms / 1000.0, 3))
}

/// One group's figures, in the API's words.
fn figures_json(f: &ReportFigures) -> Map<String, Value> {
    let value = json!({
        "conversations": f.conversations,
        "handoffs": f.handoffs,
        "handoff_rate": rate(f.handoffs, f.conversations),
        "resolved_by_bot": f.resolved_by_bot,
        "bot_resolution_rate": rate(f.resolved_by_bot, f.conversations),
        "closed": f.closed,
        "first_responses": f.first_responses,
        "median_first_response_seconds": seconds(f.median_first_response_ms),
        "median_resolution_seconds": seconds(f.median_resolution_ms),
        "ratings": f.ratings,
        "csat_average": (f.ratings > 0).then(|| round(f.rating_sum as f64 / f.ratings as f64, 2)),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The CSV's columns.
const CSV_HEADER: [&str; 14] = [
    "scope",
    "id",
    "name",
    "conversations",
    "handoffs",
    "handoff_rate",
    "resolved_by_bot",
    "bot_resolution_rate",
    "closed",
    "first_responses",
    "median_first_response_seconds",
    "median_resolution_seconds",
    "ratings",
    "csat_average",
];

/// A CSV field: quoted when it must be, and text a spreadsheet would run as a formula (`=`,
/// `+`, `-`, `@`, a tab or a carriage return first) led by an apostrophe.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv_line(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// A row of figures: scope, id, name, then the figures as `figures_json` has them.
fn csv_figures(out: &mut String, scope: &str, id: String, name: String, f: &ReportFigures) {
    let figures = figures_json(f);
    let mut fields = vec![scope.to_string(), id, name];
    for column in &CSV_HEADER[3..] {
        fields.push(match figures.get(*column) {
            Some(Value::Null) | None => String::new(),
            Some(value) => value.to_string(),
        });
    }
    csv_line(out, &fields);
}

/// A row of a tally (an hour or a day): its conversations and handoffs, the rest empty.
fn csv_tally(out: &mut String, scope: &str, id: String, name: String, tally: &Tally) {
    let mut fields = vec![
        scope.to_string(),
        id,
        name,
        tally.conversations.to_string(),
        tally.handoffs.to_string(),
    ];
    fields.resize(CSV_HEADER.len(), String::new());
    csv_line(out, &fields);
}

/// The report as one CSV table (RFC 4180, UTF-8): the totals, each widget, each agent, each
/// hour of the day and each day, told apart by `scope`.
fn csv_answer(period: &Period, report: &Report, names: &Names<'_>) -> Response {
    let mut out = String::new();
    csv_line(&mut out, &CSV_HEADER.map(String::from));
    csv_figures(&mut out, "all", String::new(), "All".into(), &report.totals);
    for (id, f) in &report.by_widget {
        csv_figures(&mut out, "widget", id.to_string(), names.widget(*id), f);
    }
    for (id, f) in &report.by_agent {
        csv_figures(&mut out, "agent", id.to_string(), names.agent(*id), f);
    }
    let (hours, days) = fold(&report.buckets, period.first_day, period.last_day);
    for (hour, tally) in hours.iter().enumerate() {
        csv_tally(
            &mut out,
            "hour",
            hour.to_string(),
            format!("{hour:02}:00"),
            tally,
        );
    }
    for (day, tally) in &days {
        csv_tally(&mut out, "day", String::new(), day.to_string(), tally);
    }
    let filename = format!(
        "attachment; filename=\"parley-report-{}-{}.csv\"",
        period.first_day, period.last_day
    );
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("Shop"), "Shop");
        assert_eq!(csv_field("Shop, EU"), "\"Shop, EU\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@me"), "'@me");
    }

    #[test]
    fn rates_and_averages_are_rounded() {
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(0, 0), None);
        assert_eq!(seconds(Some(120_125.0)), Some(120.125));
        let f = ReportFigures {
            conversations: 3,
            ratings: 3,
            rating_sum: 11,
            ..ReportFigures::default()
        };
        assert_eq!(figures_json(&f)["csat_average"], json!(3.67));
        assert_eq!(
            figures_json(&ReportFigures::default())["csat_average"],
            Value::Null
        );
    }
}
