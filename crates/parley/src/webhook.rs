//! `parley webhook create|list|delete`: outbound webhooks from the command line, checked by the
//! same rules as the admin pages (`parley_chat::webhooks`) and audited as the command line. A
//! running `parley serve` finds a new webhook's deliveries without being told.

use parley_chat::{error::ApiError, webhooks};
use parley_store::{NewAuditEntry, Store, Webhook};
use serde_json::json;

use crate::{commands::open_store, settings::Settings};

async fn audit(store: &dyn Store, action: &str, webhook: &Webhook) -> anyhow::Result<()> {
    store
        .record_audit(NewAuditEntry {
            actor_id: None,
            action: action.into(),
            target: Some(format!("webhook:{}", webhook.id)),
            ip: None,
            detail: Some(json!({
                "via": "cli",
                "url": webhook.url,
                "events": webhook.events,
                "widget_id": webhook.widget_id,
            })),
        })
        .await?;
    Ok(())
}

/// `parley webhook create --url URL [--events a,b] [--widget ID] [--json]`: prints the id and
/// the signing secret, shown only now (`--json`: `{"id","secret"}`).
pub async fn create(
    settings: &Settings,
    url: &str,
    events: &[String],
    widget_id: Option<i64>,
    json: bool,
) -> anyhow::Result<()> {
    // Checked before the database is opened, so a typo costs nothing.
    webhooks::check_url(url).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let events: Vec<&str> = events
        .iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    webhooks::check_events(&events).map_err(|e| anyhow::anyhow!("--events: {e}"))?;
    let store = open_store(settings).await?;
    let (webhook, secret) = webhooks::create(store.as_ref(), url, &events, widget_id)
        .await
        .map_err(|error| match error {
            ApiError::NotFound(_) => anyhow::anyhow!(
                "--widget: no active widget with id {}",
                widget_id.unwrap_or_default()
            ),
            other => anyhow::anyhow!("{other}"),
        })?;
    audit(store.as_ref(), "webhook.create", &webhook).await?;
    if json {
        println!("{}", json!({ "id": webhook.id, "secret": secret }));
    } else {
        println!("Created webhook {} for {}.", webhook.id, webhook.url);
        println!("Signing secret (shown only now): {secret}");
    }
    Ok(())
}

/// `parley webhook list [--json]`: every webhook (never the secrets).
pub async fn list(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let webhooks = open_store(settings).await?.webhooks().await?;
    if json {
        let listed: Vec<_> = webhooks.iter().map(webhooks::webhook_json).collect();
        println!("{}", serde_json::Value::from(listed));
        return Ok(());
    }
    for webhook in webhooks {
        let state = if webhook.disabled_at.is_some() {
            "disabled"
        } else {
            "enabled"
        };
        let events = if webhook.events.is_empty() {
            "every event".to_string()
        } else {
            webhook.events.join(",")
        };
        let widget = webhook
            .widget_id
            .map_or("every widget".to_string(), |id| format!("widget {id}"));
        println!(
            "{}\t{}\t{}\t{}\t{}",
            webhook.id, webhook.url, state, events, widget
        );
    }
    Ok(())
}

/// `parley webhook delete ID`: the webhook and its delivery log.
pub async fn delete(settings: &Settings, id: i64) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let Some(webhook) = store.webhook(id).await? else {
        anyhow::bail!("no webhook with id {id}");
    };
    if !store.delete_webhook(id).await? {
        anyhow::bail!("no webhook with id {id}");
    }
    audit(store.as_ref(), "webhook.delete", &webhook).await?;
    println!("Deleted webhook {id}.");
    Ok(())
}
