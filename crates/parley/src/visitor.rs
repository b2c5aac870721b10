//! `parley visitor export|erase`: everything stored about one visitor or verified user, as
//! JSON or erased (files included), selected by conversation, by the email the visitor gave
//! (on one widget or all) or by verified user id on a widget. Both are audited (as the command
//! line); an erasure asks for `--yes` and tells open dashboards and widgets through the
//! realtime server when it can reach it.

use std::{io::Write as _, path::Path, sync::Arc};

use anyhow::Context as _;
use parley_chat::{
    broadcast::{Broadcaster, PusherHttp},
    privacy,
};
use parley_store::{ErasedConversation, NewAuditEntry, Store, VisitorSelector};
use serde_json::json;

use crate::{
    commands::open_store,
    settings::{BroadcastConnection, Settings},
};

/// `parley visitor export`: the JSON on standard output, or in `output` (readable by its
/// owner only: it is someone's personal data).
pub async fn export(
    settings: &Settings,
    who: VisitorSelector,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    check_widget(store.as_ref(), &who).await?;
    let export = privacy::export(store.as_ref(), &who).await?;
    let ids: Vec<i64> = export["conversations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["conversation"]["id"].as_i64())
        .collect();
    let text = serde_json::to_string_pretty(&export)? + "\n";
    match output {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(text.as_bytes())?;
            eprintln!(
                "Exported {} conversation(s) to {}.",
                ids.len(),
                path.display()
            );
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    audit(
        store.as_ref(),
        "visitor.export",
        &who,
        &ids,
        json!({ "via": "cli" }),
    )
    .await
}

/// `parley visitor erase`: without `yes`, says what would be erased and fails; with it,
/// erases each conversation whole and prints the counts (`json`: as JSON).
pub async fn erase(
    settings: &Settings,
    who: VisitorSelector,
    yes: bool,
    json: bool,
) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    check_widget(store.as_ref(), &who).await?;
    if !yes {
        let ids = store.conversations_of_visitor(&who).await?;
        if json {
            println!("{}", json!({ "would_erase": ids }));
        } else {
            println!("Would erase {} conversation(s){}.", ids.len(), list(&ids));
        }
        anyhow::bail!("nothing erased: add --yes to erase them");
    }
    let erased = std::sync::Mutex::new(Vec::new());
    let outcome = privacy::erase(store.as_ref(), &settings.data_dir, &who, &|conversation| {
        erased.lock().expect("not poisoned").push(conversation);
    })
    .await;
    let counts = outcome.to_json();
    let ids: Vec<i64> = outcome.erased.conversations.iter().map(|c| c.id).collect();
    if !ids.is_empty() || outcome.error.is_none() {
        let mut extra = counts.clone();
        if let Some(extra) = extra.as_object_mut() {
            extra.remove("conversations");
            extra.insert("via".into(), "cli".into());
        }
        audit(store.as_ref(), "visitor.erase", &who, &ids, extra).await?;
    }
    tell_open_pages(settings, &erased.into_inner().expect("not poisoned")).await;
    if json {
        println!("{}", json!({ "erased": counts }));
    } else {
        let erased = &outcome.erased;
        println!(
            "Erased {} conversation(s){}: {} message(s), {} attachment(s) ({} file(s) removed), \
             {} reaction(s), {} read mark(s), {} rating(s), {} bot turn(s), {} mail(s).",
            ids.len(),
            list(&ids),
            erased.messages,
            erased.attachments,
            outcome.files_removed,
            erased.reactions,
            erased.read_states,
            erased.ratings,
            erased.bot_jobs,
            erased.mail_jobs,
        );
    }
    match outcome.error {
        Some(error) => Err(error).context("erasing stopped; what is listed above is erased"),
        None => Ok(()),
    }
}

/// ` (ids 4, 7)`, or nothing for none.
fn list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!(" (ids {})", ids.join(", "))
}

/// A widget named with `--widget` must exist (revoked ones count: their visitors' data is
/// still stored).
async fn check_widget(store: &dyn Store, who: &VisitorSelector) -> anyhow::Result<()> {
    let widget_id = match who {
        VisitorSelector::Email {
            widget_id: Some(id),
            ..
        }
        | VisitorSelector::User { widget_id: id, .. } => *id,
        _ => return Ok(()),
    };
    if store.widget(widget_id).await?.is_none() {
        anyhow::bail!("no widget with id {widget_id}");
    }
    Ok(())
}

async fn audit(
    store: &dyn Store,
    action: &str,
    who: &VisitorSelector,
    ids: &[i64],
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .record_audit(NewAuditEntry {
            actor_id: None,
            action: action.into(),
            target: Some(privacy::audit_target(who)),
            ip: None,
            detail: Some(privacy::audit_detail(who, ids, extra)),
        })
        .await?;
    Ok(())
}

/// Tells open dashboards and widgets about the erased conversations through the realtime
/// server's HTTP API, when this process can reach it (a running `parley serve` on this
/// machine, an external Reverb, or Pusher). When it cannot, they find out on their own: a
/// dashboard or widget drops a conversation the API no longer knows at its next read.
async fn tell_open_pages(settings: &Settings, erased: &[ErasedConversation]) {
    if erased.is_empty() {
        return;
    }
    let Some(broadcaster) = broadcaster(settings) else {
        return;
    };
    for conversation in erased {
        if let Err(error) = broadcaster
            .broadcast(privacy::erased_broadcast(*conversation))
            .await
        {
            eprintln!(
                "note: open dashboards were not told ({error}); they drop the erased \
                 conversations at their next refresh"
            );
            return;
        }
    }
}

/// A publisher to the realtime server the settings name, if they name one.
fn broadcaster(settings: &Settings) -> Option<Arc<dyn Broadcaster>> {
    match settings.broadcast {
        BroadcastConnection::Reverb => {
            let app = settings.realtime().ok()?.apps.into_iter().next()?;
            let (host, port) = if settings.embedded_realtime {
                // Where `parley serve` binds its realtime server (a wildcard address is this
                // machine).
                let (host, port) = settings.realtime_bind.rsplit_once(':')?;
                let host = match host.trim_matches(['[', ']']) {
                    "0.0.0.0" | "::" | "" => "127.0.0.1".to_string(),
                    host => host.to_string(),
                };
                // Port 0 asked the system for any port: this process cannot know which.
                (host, port.parse().ok().filter(|port| *port != 0)?)
            } else {
                let client = &settings.reverb_client;
                (
                    client.host.clone().unwrap_or_else(|| "127.0.0.1".into()),
                    client.port,
                )
            };
            let scheme = if settings.embedded_realtime {
                "http"
            } else {
                settings.reverb_client.scheme.as_str()
            };
            Some(Arc::new(PusherHttp::new(
                "reverb",
                scheme,
                &host,
                port,
                &app.id,
                &app.key,
                &app.secret,
            )))
        }
        BroadcastConnection::Pusher => {
            let pusher = settings.pusher.as_ref()?;
            let host = pusher
                .host
                .clone()
                .unwrap_or_else(|| format!("api-{}.pusher.com", pusher.cluster));
            Some(Arc::new(PusherHttp::new(
                "pusher",
                &pusher.scheme,
                &host,
                pusher.port,
                &pusher.app_id,
                &pusher.key,
                &pusher.secret,
            )))
        }
        BroadcastConnection::Log | BroadcastConnection::Null => None,
    }
}
