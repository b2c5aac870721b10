//! Attachments and voice notes: sniffing, limits, signed downloads.

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::support::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\x01\x01\x01\0\x18\xdd\x8d\xb0\0\0\0\0IEND\xaeB`\x82";
const WEBM: &[u8] =
    b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm";

async fn upload(app: &TestApp, id: i64, visitor: &str, form: Form) -> (u16, Value) {
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/messages"))
        .header("X-Visitor-Token", visitor)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn an_image_upload_is_stored_broadcast_and_served_safely() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    // The declared type lies; the bytes decide.
    let form = Form::new()
        .text("message", "look")
        .text("client_id", "up-1")
        .part(
            "attachment",
            Part::bytes(PNG.to_vec())
                .file_name("../../shot \"1\".png")
                .mime_str("application/x-msdownload")
                .unwrap(),
        );
    let (status, body) = upload(&app, id, &visitor, form).await;
    assert_eq!(status, 201, "{body}");
    let message = &body["message"];
    assert_eq!(message["attachment_name"], "shot 1.png");
    assert_eq!(message["is_voice"], false);
    let path = message["attachment_path"].as_str().unwrap();
    assert_eq!(
        subscriber.event("ChatMessageReceived").await["attachment_path"],
        path
    );

    let file = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("shot 1.png"));
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);

    let forged =
        path.split("?sig=").next().unwrap().to_string() + "?sig=00000000000000000000000000000000";
    assert_eq!(
        app.http
            .get(app.url(&forged))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let unsigned = path.split('?').next().unwrap();
    assert_eq!(
        app.http
            .get(app.url(unsigned))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_voice_note_is_accepted_as_audio() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let form = Form::new().text("is_voice", "1").part(
        "attachment",
        Part::bytes(WEBM.to_vec()).file_name("voice.webm"),
    );
    let (status, body) = upload(&app, id, &visitor, form).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["is_voice"], true);
    let file = app
        .http
        .get(app.url(body["message"]["attachment_path"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(file.headers()["content-type"], "audio/webm");
}

#[tokio::test]
async fn disallowed_and_oversized_uploads_are_refused_and_leave_nothing() {
    let app = TestApp::start_with(|config| config.max_upload_bytes = 1024, None).await;
    let (id, visitor) = app.conversation().await;
    let exe = Form::new().part(
        "attachment",
        Part::bytes(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec()).file_name("photo.png"),
    );
    assert_eq!(upload(&app, id, &visitor, exe).await.0, 415);
    let big = Form::new().part(
        "attachment",
        Part::bytes(vec![b'a'; 4096]).file_name("big.txt"),
    );
    assert_eq!(upload(&app, id, &visitor, big).await.0, 413);
    let not_voice = Form::new()
        .text("is_voice", "1")
        .part("attachment", Part::bytes(PNG.to_vec()).file_name("x.webm"));
    assert_eq!(upload(&app, id, &visitor, not_voice).await.0, 415);
    let unknown_field = Form::new().text("admin", "1");
    assert_eq!(upload(&app, id, &visitor, unknown_field).await.0, 400);
    assert!(app
        .store
        .messages_after(id, 0, 10)
        .await
        .unwrap()
        .is_empty());
    let dir = app.data_dir.join("attachments");
    let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "refused uploads left files behind");
}

/// `%XX` escapes decoded, as RFC 5987 defines them.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            decoded.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    decoded
}

#[tokio::test]
async fn a_non_ascii_file_name_survives_the_download() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    for (name, kind) in [
        ("фото отпуск.png", "inline"),
        ("résumé 100%.txt", "attachment"),
        ("日本語's.txt", "attachment"),
    ] {
        let bytes = if name.ends_with(".png") {
            PNG.to_vec()
        } else {
            b"plain text".to_vec()
        };
        // As browsers send it: the name's UTF-8 bytes as they are.
        let form = Form::new()
            .percent_encode_noop()
            .part("attachment", Part::bytes(bytes).file_name(name));
        let (status, body) = upload(&app, id, &visitor, form).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["message"]["attachment_name"], name);

        let path = body["message"]["attachment_path"].as_str().unwrap();
        let file = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(file.status(), 200);
        let disposition = file.headers()["content-disposition"].to_str().unwrap();
        let parts: Vec<&str> = disposition.split("; ").collect();
        assert_eq!(parts[0], kind, "{disposition}");
        let fallback = parts[1]
            .strip_prefix("filename=\"")
            .and_then(|p| p.strip_suffix('"'))
            .unwrap_or_else(|| panic!("no ASCII filename: {disposition}"));
        assert!(fallback.is_ascii() && !fallback.is_empty(), "{disposition}");
        assert_eq!(
            fallback.chars().count(),
            name.chars().count(),
            "one stand-in per character: {disposition}"
        );
        let encoded = parts[2]
            .strip_prefix("filename*=UTF-8''")
            .unwrap_or_else(|| panic!("no filename*: {disposition}"));
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"%!#$&+-.^_`|~".contains(&b)),
            "only RFC 5987 attr-chars and escapes: {disposition}"
        );
        assert_eq!(percent_decode(encoded), name.as_bytes(), "{disposition}");
    }
}

#[tokio::test]
async fn stored_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let form = Form::new().part("attachment", Part::bytes(PNG.to_vec()).file_name("a.png"));
    let (status, body) = upload(&app, id, &visitor, form).await;
    assert_eq!(status, 201, "{body}");
    let dir = parley_chat::uploads::attachments_dir(&app.data_dir);
    let mode = |path: &std::path::Path| {
        format!(
            "{:o}",
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        )
    };
    assert_eq!(mode(&dir), "700");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), "600");
}

fn files_in(app: &TestApp) -> usize {
    std::fs::read_dir(app.data_dir.join("attachments"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A send retried with the same `client_id` (the widget retries until acknowledged) answers
/// with the first message and keeps no second copy of the file.
#[tokio::test]
async fn a_retried_upload_keeps_one_file() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let form = || {
        Form::new()
            .text("client_id", "retry-1")
            .part("attachment", Part::bytes(PNG.to_vec()).file_name("a.png"))
    };
    let (status, first) = upload(&app, id, &visitor, form()).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = upload(&app, id, &visitor, form()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["message"]["id"], first["message"]["id"]);
    assert_eq!(
        again["message"]["attachment_path"],
        first["message"]["attachment_path"]
    );
    assert_eq!(files_in(&app), 1, "the retry's file was kept");
    let messages = app.store.messages_after(id, 0, 10).await.unwrap();
    assert_eq!(messages.len(), 1);
}

/// A closed conversation is refused before its body is read: the answer is the conversation's
/// state (409), not the upload's size (413), and nothing is written.
#[tokio::test]
async fn a_closed_conversation_refuses_an_upload_before_reading_it() {
    let app = TestApp::start_with(|config| config.max_upload_bytes = 1024, None).await;
    let (id, visitor) = app.conversation().await;
    app.store
        .update_conversation(id, parley_store::ConversationStatus::Closed, None)
        .await
        .unwrap();
    let big = Form::new().part(
        "attachment",
        Part::bytes(vec![b'a'; 4096]).file_name("big.txt"),
    );
    let (status, body) = upload(&app, id, &visitor, big).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict", "{body}");
    assert_eq!(files_in(&app), 0);
}
