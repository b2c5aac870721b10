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
