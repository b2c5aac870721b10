//! The administrative commands: widgets, agents, migrations.

use anyhow::Context as _;
use parley_chat::tokens::{
    hash_token, new_agent_token, new_identity_secret as new_identity_secret_text, new_widget_token,
};
use parley_store::{NewAgent, NewWidget, Store};

use crate::settings::Settings;

/// Opens and migrates the database. A SQLite database lives in the data directory by default,
/// so that is created first.
pub(crate) async fn open_store(settings: &Settings) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if settings.database_url.starts_with("sqlite:") {
        settings.prepare_data_dir()?;
    }
    let store = parley_store::connect(&settings.database_url)
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// `parley migrate`.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    open_store(settings).await?;
    println!("database is up to date");
    Ok(())
}

/// `parley widget create`: prints the token once.
pub async fn create_widget(
    settings: &Settings,
    name: &str,
    allowed_origins: Vec<String>,
    widget_settings: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let widget_settings = match widget_settings {
        Some(text) => parse_widget_settings(text)?,
        None => serde_json::json!({}),
    };
    plain_text("--name", name)?;
    let name =
        parley_chat::widgets::check_name(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let allowed_origins = parley_chat::widgets::check_origins(&allowed_origins)
        .map_err(|e| anyhow::anyhow!("--{e}"))?;
    let store = open_store(settings).await?;
    let token = new_widget_token();
    let widget = store
        .create_widget(NewWidget {
            name,
            token_hash: hash_token(&token),
            allowed_origins,
            settings: widget_settings,
            identity_secret: Some(new_identity_secret_text()),
        })
        .await?;
    let secret = widget.identity_secret.unwrap_or_default();
    if json {
        println!(
            "{}",
            serde_json::json!({ "id": widget.id, "token": token, "identity_secret": secret })
        );
    } else {
        println!("Created widget {} ({}).", widget.id, widget.name);
        println!("Token (shown only now): {token}");
        println!("Identity secret, for signing user tokens (shown only now): {secret}");
    }
    Ok(())
}

/// `parley widget identity-secret ID`: a new identity secret, printed once.
pub async fn new_identity_secret(settings: &Settings, id: i64, json: bool) -> anyhow::Result<()> {
    let secret = new_identity_secret_text();
    if !open_store(settings)
        .await?
        .set_identity_secret(id, &secret)
        .await?
    {
        anyhow::bail!("no active widget with id {id}");
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "id": id, "identity_secret": secret })
        );
    } else {
        println!("Widget {id} has a new identity secret (shown only now): {secret}");
        println!("User tokens signed with the old one no longer verify.");
    }
    Ok(())
}

/// Refuses what the API refuses in text (`parley_chat::text`'s rule: control characters other
/// than newline, carriage return and tab), in a shell's words.
fn plain_text(option: &str, value: &str) -> anyhow::Result<()> {
    match parley_chat::text::first_refused(value) {
        Some(c) => anyhow::bail!(
            "{option} contains the control character U+{:04X}",
            u32::from(c)
        ),
        None => Ok(()),
    }
}

/// Parses `--settings`, checking the bot part now rather than at the first visitor message.
fn parse_widget_settings(text: &str) -> anyhow::Result<serde_json::Value> {
    let value: serde_json::Value =
        serde_json::from_str(text).context("--settings is not valid JSON")?;
    parley_chat::widgets::check_settings(&value).map_err(|e| anyhow::anyhow!("--settings: {e}"))?;
    Ok(value)
}

/// `parley widget configure ID --settings JSON`.
pub async fn configure_widget(
    settings: &Settings,
    id: i64,
    widget_settings: &str,
) -> anyhow::Result<()> {
    let value = parse_widget_settings(widget_settings)?;
    let warnings = parley_chat::widgets::colour_warnings(&value);
    if open_store(settings)
        .await?
        .update_widget_settings(id, value)
        .await?
    {
        println!("Updated widget {id}.");
        for warning in warnings {
            eprintln!("warning: {warning}");
        }
        Ok(())
    } else {
        anyhow::bail!("no widget with id {id}")
    }
}

/// `parley widget list`.
pub async fn list_widgets(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let widgets = open_store(settings).await?.widgets().await?;
    if json {
        println!("{}", serde_json::to_string(&widgets)?);
        return Ok(());
    }
    for widget in widgets {
        let state = if widget.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        };
        let origins = if widget.allowed_origins.is_empty() {
            "any origin".to_string()
        } else {
            widget.allowed_origins.join(", ")
        };
        println!("{}\t{}\t{}\t{}", widget.id, widget.name, state, origins);
    }
    Ok(())
}

/// `parley widget revoke ID`.
pub async fn revoke_widget(settings: &Settings, id: i64) -> anyhow::Result<()> {
    if open_store(settings).await?.revoke_widget(id).await? {
        println!("Revoked widget {id}.");
        Ok(())
    } else {
        anyhow::bail!("no active widget with id {id}")
    }
}

/// `parley agent create`: prints the agent's token once.
pub async fn create_agent(
    settings: &Settings,
    name: &str,
    email: &str,
    json: bool,
) -> anyhow::Result<()> {
    if name.trim().is_empty() || !email.contains('@') {
        anyhow::bail!("--name must not be empty and --email must be an email address");
    }
    plain_text("--name", name)?;
    plain_text("--email", email)?;
    let store = open_store(settings).await?;
    let token = new_agent_token();
    let agent = store
        .create_agent(NewAgent {
            name: name.trim().into(),
            email: email.trim().to_ascii_lowercase(),
            token_hash: hash_token(&token),
            role: parley_store::Role::Agent,
        })
        .await?;
    if json {
        println!("{}", serde_json::json!({ "id": agent.id, "token": token }));
    } else {
        println!("Created agent {} ({}).", agent.id, agent.email);
        println!("Token (shown only now): {token}");
    }
    Ok(())
}

/// `parley agent list`.
pub async fn list_agents(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let agents = open_store(settings).await?.agents().await?;
    if json {
        println!("{}", serde_json::to_string(&agents)?);
        return Ok(());
    }
    for agent in agents {
        let state = if agent.revoked_at.is_some() {
            "revoked"
        } else {
            agent.availability.as_str()
        };
        println!("{}\t{}\t{}\t{}", agent.id, agent.name, agent.email, state);
    }
    Ok(())
}

/// `parley agent revoke ID`.
pub async fn revoke_agent(settings: &Settings, id: i64) -> anyhow::Result<()> {
    if open_store(settings).await?.revoke_agent(id).await? {
        println!("Revoked agent {id}.");
        Ok(())
    } else {
        anyhow::bail!("no active agent with id {id}")
    }
}

/// The new admin's password from standard input: asked twice without echo on a terminal, read
/// as one line when piped (`printf '%s\n' "$PASSWORD" | parley admin create …`).
pub fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password again: ")?;
        if first != second {
            anyhow::bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_string())
}

/// `parley admin create --email E [--name N]`: an admin who signs in with a password.
pub async fn create_admin(
    settings: &Settings,
    email: &str,
    name: Option<&str>,
    password: String,
) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let admin = parley_chat::accounts::create_admin(store.as_ref(), email, name, password)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    store
        .record_audit(parley_store::NewAuditEntry {
            actor_id: None,
            action: "admin.create".into(),
            target: Some(format!("agent:{}", admin.id)),
            ip: None,
            detail: Some(serde_json::json!({ "via": "cli", "email": admin.email })),
        })
        .await?;
    println!(
        "Created admin {} ({}). Sign in at /dashboard with this email and the password.",
        admin.id, admin.email
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn names_refuse_control_characters_as_the_api_does() {
        assert!(plain_text("--name", "Shop\tfront").is_ok());
        let error = plain_text("--name", "Sh\0p").unwrap_err().to_string();
        assert_eq!(error, "--name contains the control character U+0000");
    }
}
