//! Publishing over the Pusher HTTP API (`POST /apps/{id}/events`, signed), to hosted Pusher or
//! to any compatible server (Reverb, Soketi, another Parley).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use parley_protocol::signature::sign_api_request;

use super::{Broadcast, BroadcastError, Broadcaster};

/// A Pusher HTTP API publisher.
#[derive(Clone)]
pub struct PusherHttp {
    base_url: String,
    app_id: String,
    key: String,
    secret: String,
    client: reqwest::Client,
    name: &'static str,
}

impl std::fmt::Debug for PusherHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PusherHttp")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl PusherHttp {
    /// A publisher to `scheme://host:port` for the given app; `name` is the driver
    /// (`pusher` or `reverb`).
    pub fn new(
        name: &'static str,
        scheme: &str,
        host: &str,
        port: u16,
        app_id: &str,
        key: &str,
        secret: &str,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("the HTTP client builds with static settings");
        Self {
            base_url: format!("{scheme}://{host}:{port}"),
            app_id: app_id.into(),
            key: key.into(),
            secret: secret.into(),
            client,
            name,
        }
    }
}

impl PusherHttp {
    /// `path` on the server with the API's signature (and `params`) in the query string.
    fn signed_url(
        &self,
        method: &str,
        path: &str,
        params: &[(String, String)],
        body: &[u8],
    ) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let params = sign_api_request(&self.key, &self.secret, method, path, params, body, now);
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect();
        format!("{}{path}?{}", self.base_url, query.join("&"))
    }
}

impl PusherHttp {
    /// `POST /apps/{id}/batch_events` with single-channel events; one event goes to `/events`.
    async fn send_batch(&self, mut events: Vec<Broadcast>) -> Result<(), BroadcastError> {
        match events.len() {
            0 => return Ok(()),
            1 => return self.broadcast(events.remove(0)).await,
            _ => {}
        }
        let batch: Vec<serde_json::Value> = events
            .into_iter()
            .map(|event| {
                let mut item = serde_json::json!({
                    "name": event.event,
                    "channel": event.channels[0],
                    "data": event.data,
                });
                if let Some(socket_id) = event.except_socket {
                    item["socket_id"] = socket_id.into();
                }
                item
            })
            .collect();
        let path = format!("/apps/{}/batch_events", self.app_id);
        self.post_json(&path, &serde_json::json!({ "batch": batch }))
            .await
    }

    /// A signed JSON POST to the HTTP API.
    async fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<(), BroadcastError> {
        let body = serde_json::to_vec(body).expect("JSON serialises");
        let url = self.signed_url("POST", path, &[], &body);
        let response = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| BroadcastError::Unavailable(error.to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(refused(response).await)
        }
    }
}

/// A non-2xx answer as an error: 4xx is the server refusing this request, the rest is the server
/// being unavailable.
async fn refused(response: reqwest::Response) -> BroadcastError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status.is_client_error() {
        BroadcastError::Rejected(format!("{status}: {text}"))
    } else {
        BroadcastError::Unavailable(format!("{status}: {text}"))
    }
}

#[async_trait]
impl Broadcaster for PusherHttp {
    async fn broadcast(&self, event: Broadcast) -> Result<(), BroadcastError> {
        let mut body = serde_json::json!({ "name": event.event, "channels": event.channels, "data": event.data });
        if let Some(socket_id) = event.except_socket {
            body["socket_id"] = socket_id.into();
        }
        self.post_json(&format!("/apps/{}/events", self.app_id), &body)
            .await
    }

    /// Events for one channel each go in one `batch_events` request, in order; an event for
    /// several channels (which a batch item cannot name) goes on its own, in its place.
    async fn broadcast_batch(&self, events: Vec<Broadcast>) -> Result<(), BroadcastError> {
        let mut first_error = None;
        let mut run: Vec<Broadcast> = Vec::new();
        for event in events {
            if event.channels.len() == 1 {
                run.push(event);
                continue;
            }
            if let Err(error) = self.send_batch(std::mem::take(&mut run)).await {
                first_error.get_or_insert(error);
            }
            if let Err(error) = self.broadcast(event).await {
                first_error.get_or_insert(error);
            }
        }
        if let Err(error) = self.send_batch(run).await {
            first_error.get_or_insert(error);
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn occupied_channels(&self, prefix: &str) -> Result<Vec<String>, BroadcastError> {
        #[derive(serde::Deserialize)]
        struct Channels {
            channels: std::collections::HashMap<String, serde_json::Value>,
        }
        let params = [("filter_by_prefix".to_string(), prefix.to_string())];
        let url = self.signed_url(
            "GET",
            &format!("/apps/{}/channels", self.app_id),
            &params,
            b"",
        );
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|error| BroadcastError::Unavailable(error.to_string()))?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let listing: Channels = response
            .json()
            .await
            .map_err(|error| BroadcastError::Unavailable(format!("unexpected answer: {error}")))?;
        Ok(listing.channels.into_keys().collect())
    }

    fn name(&self) -> &'static str {
        self.name
    }
}
