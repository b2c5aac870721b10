//! The SMTP server's settings (`PARLEY_SMTP_URL`) and one delivery, step by step, so that a
//! failure says whether the message may have been delivered.
//!
//! `smtp://[user[:password]@]host[:port][?tls=…]` (port 587 by default) uses STARTTLS when the
//! server offers it; `?tls=required` refuses to send unencrypted, `?tls=none` never encrypts (a
//! relay on the same machine). `smtps://…` (port 465 by default) is TLS from the first byte. A
//! user name or password holding `@`, `:` or `/` is percent-encoded (`%40`, `%3A`, `%2F`).

use std::{fmt, time::Duration};

use lettre::{
    address::Envelope,
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, Certificate, TlsParameters},
        commands::{Data, Mail, Rcpt},
        extension::{ClientId, Extension, MailBodyParameter, MailParameter},
    },
};

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `smtp://…?tls=required`: STARTTLS, and no mail if the server does not offer it.
    Required,
    /// `smtp://` (default): STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://…?tls=none`: never encrypted.
    None,
}

/// Where and how to reach the SMTP server.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Encryption.
    pub tls: TlsMode,
    /// User name, when the server wants a sign-in.
    pub user: Option<String>,
    /// Password (never printed).
    pub password: Option<String>,
    /// Extra trusted root certificates (PEM), for a server with a private CA.
    pub extra_roots: Vec<Vec<u8>>,
    /// Connecting may take this long; everything before the message is written, four times
    /// it; the server's answer to the message, four times it again (RFC 5321 allows minutes).
    pub timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("extra_roots", &self.extra_roots.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpSettings {
    /// Parses `PARLEY_SMTP_URL`; the error says what was expected (never repeating the
    /// password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("expected smtp://[user:password@]host[:port] or smtps://…")?;
        let (mut tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (TlsMode::Opportunistic, 587),
            "smtps" => (TlsMode::Implicit, 465),
            _ => return Err("the scheme must be smtp:// or smtps://".into()),
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err("expected no path after host:port".into());
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (userinfo, None),
                };
                let user = percent_decode(user).ok_or("the user name is badly percent-encoded")?;
                let password = password
                    .map(|p| percent_decode(p).ok_or("the password is badly percent-encoded"))
                    .transpose()?;
                (Some(user).filter(|u| !u.is_empty()), password)
            }
        };
        let (host, port) = split_host_port(hostport)?;
        let port = port.unwrap_or(default_port);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required") if tls != TlsMode::Implicit => tls = TlsMode::Required,
                ("tls", "none") if tls != TlsMode::Implicit => tls = TlsMode::None,
                ("tls", "starttls" | "opportunistic") if tls != TlsMode::Implicit => {
                    tls = TlsMode::Opportunistic;
                }
                ("tls", _) if tls == TlsMode::Implicit => {
                    return Err("smtps:// is always TLS; tls= applies to smtp://".into())
                }
                ("tls", other) => {
                    return Err(format!(
                        "tls={other} is not one of required, none, starttls"
                    ))
                }
                (other, _) => return Err(format!("unknown option {other}; only tls= is known")),
            }
        }
        if password.is_some() && user.is_none() {
            return Err("a password needs a user name".into());
        }
        Ok(Self {
            host,
            port,
            tls,
            user,
            password,
            extra_roots: Vec::new(),
            timeout: Duration::from_secs(30),
        })
    }
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), String> {
    let bad_port = || "the port must be a number 1-65535".to_string();
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("an IPv6 host needs its ]")?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err("expected :port after the IPv6 host".into()),
        };
        (host.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("the host is missing".into());
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(bad_port)
        })
        .transpose()?;
    Ok((host, port))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Why a delivery failed, and what that says about the message.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// Nothing was delivered and a later try may work (no connection, a 4xx reply, TLS or
    /// sign-in trouble that may pass).
    #[error("not delivered, will retry: {0}")]
    Temporary(String),
    /// Nothing was delivered and trying again will not help (a 5xx reply, a bad address).
    #[error("not delivered: {0}")]
    Permanent(String),
    /// The message was written to the server but its answer never came: it may have been
    /// delivered.
    #[error("may have been delivered: {0}")]
    Uncertain(String),
}

/// What came back from the server for a step before the message was written: a reply with a
/// permanent code is permanent, anything else (a 4xx, a broken connection) temporary.
fn before_data(step: &str, error: lettre::transport::smtp::Error) -> SmtpError {
    let text = format!("{step}: {error}");
    if error.is_permanent() {
        SmtpError::Permanent(text)
    } else {
        SmtpError::Temporary(text)
    }
}

/// Delivers one message (`formatted`, already built) to `envelope`'s recipients.
pub(crate) async fn deliver(
    settings: &SmtpSettings,
    hello: &str,
    envelope: &Envelope,
    formatted: &[u8],
) -> Result<(), SmtpError> {
    let hello = ClientId::Domain(hello.to_string());
    let tls = || -> Result<TlsParameters, SmtpError> {
        let mut builder = TlsParameters::builder(settings.host.clone());
        for pem in &settings.extra_roots {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| SmtpError::Permanent(format!("extra root certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        builder
            .build_rustls()
            .map_err(|e| SmtpError::Permanent(format!("TLS settings: {e}")))
    };
    let implicit = match settings.tls {
        TlsMode::Implicit => Some(tls()?),
        _ => None,
    };
    let connect = AsyncSmtpConnection::connect_tokio1(
        (settings.host.as_str(), settings.port),
        Some(settings.timeout),
        &hello,
        implicit,
        None,
    );
    let mut connection = tokio::time::timeout(settings.timeout * 2, connect)
        .await
        .map_err(|_| SmtpError::Temporary("connect: timed out".into()))?
        .map_err(|e| before_data("connect", e))?;
    let result = converse(settings, &hello, &mut connection, envelope, formatted, tls).await;
    // Saying goodbye is bounded too: a server that stopped answering must not hold the worker.
    let _ = match &result {
        Ok(()) => {
            tokio::time::timeout(settings.timeout, async {
                let _ = connection.quit().await;
            })
            .await
        }
        Err(_) => tokio::time::timeout(settings.timeout, connection.abort()).await,
    };
    result
}

async fn converse(
    settings: &SmtpSettings,
    hello: &ClientId,
    connection: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    formatted: &[u8],
    tls: impl Fn() -> Result<TlsParameters, SmtpError>,
) -> Result<(), SmtpError> {
    let before = prepare(settings, hello, connection, envelope, formatted, tls);
    tokio::time::timeout(settings.timeout * 4, before)
        .await
        .map_err(|_| SmtpError::Temporary("timed out before the message was sent".into()))??;
    // From here on only a reply from the server proves the outcome.
    let answer = tokio::time::timeout(settings.timeout * 4, connection.message(formatted)).await;
    match answer {
        Err(_) => Err(SmtpError::Uncertain(
            "no answer to the message in time".into(),
        )),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) if error.is_permanent() => {
            Err(SmtpError::Permanent(format!("message: {error}")))
        }
        Ok(Err(error)) if error.is_transient() => {
            Err(SmtpError::Temporary(format!("message: {error}")))
        }
        Ok(Err(error)) => Err(SmtpError::Uncertain(format!("message: {error}"))),
    }
}

/// Everything up to the server's go-ahead for the message: encryption, sign-in, sender,
/// recipients, `DATA`. A failure here proves nothing was delivered.
async fn prepare(
    settings: &SmtpSettings,
    hello: &ClientId,
    connection: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    formatted: &[u8],
    tls: impl Fn() -> Result<TlsParameters, SmtpError>,
) -> Result<(), SmtpError> {
    let offers_tls = connection.can_starttls();
    match settings.tls {
        TlsMode::Required | TlsMode::Opportunistic if offers_tls => connection
            .starttls(tls()?, hello)
            .await
            .map_err(|e| before_data("STARTTLS", e))?,
        TlsMode::Required => {
            return Err(SmtpError::Temporary(
                "the server does not offer STARTTLS and tls=required".into(),
            ))
        }
        _ => {}
    }
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        let credentials = Credentials::new(user.clone(), password.clone());
        connection
            .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
            .await
            .map_err(|e| before_data("sign-in", e))?;
    }
    let mut options = Vec::new();
    if !formatted.is_ascii() {
        if !connection
            .server_info()
            .supports_feature(Extension::EightBitMime)
        {
            return Err(SmtpError::Permanent(
                "the message is 8-bit and the server lacks 8BITMIME".into(),
            ));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let non_ascii = |address: &lettre::Address| !AsRef::<str>::as_ref(address).is_ascii();
    if envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii) {
        if !connection
            .server_info()
            .supports_feature(Extension::SmtpUtfEight)
        {
            return Err(SmtpError::Permanent(
                "a non-ASCII address and the server lacks SMTPUTF8".into(),
            ));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    connection
        .command(Mail::new(envelope.from().cloned(), options))
        .await
        .map_err(|e| before_data("MAIL FROM", e))?;
    for to in envelope.to() {
        connection
            .command(Rcpt::new(to.clone(), Vec::new()))
            .await
            .map_err(|e| before_data("RCPT TO", e))?;
    }
    connection
        .command(Data)
        .await
        .map_err(|e| before_data("DATA", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let s =
            SmtpSettings::parse("smtp://ada%40example.com:p%3Ass@mail.example.com:2525").unwrap();
        assert_eq!(s.host, "mail.example.com");
        assert_eq!(s.port, 2525);
        assert_eq!(s.tls, TlsMode::Opportunistic);
        assert_eq!(s.user.as_deref(), Some("ada@example.com"));
        assert_eq!(s.password.as_deref(), Some("p:ss"));
        assert!(!format!("{s:?}").contains("p:ss"), "password redacted");

        let s = SmtpSettings::parse("smtps://mail.example.com").unwrap();
        assert_eq!((s.port, s.tls), (465, TlsMode::Implicit));
        let s = SmtpSettings::parse("smtp://127.0.0.1?tls=none").unwrap();
        assert_eq!((s.port, s.tls, s.user), (587, TlsMode::None, None));
        let s = SmtpSettings::parse("smtp://[::1]:25/?tls=required").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("::1", 25, TlsMode::Required)
        );

        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtp://",
            "smtp://host:0",
            "smtp://host:port",
            "smtp://host/path",
            "smtp://host?tls=maybe",
            "smtp://host?verify=no",
            "smtps://host?tls=none",
            "smtp://:secret@host",
            "smtp://u:%zz@host",
        ] {
            let error = SmtpSettings::parse(bad).expect_err(bad);
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
