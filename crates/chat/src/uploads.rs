//! Uploaded files: the type is sniffed from the bytes (never taken from the upload's headers)
//! and checked against an allowlist; files get generated names under the data directory, are
//! readable by their owner only, and are served only through the API.

use std::path::{Path, PathBuf};

use rand::Rng;

/// Why an upload was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// Not an allowed type.
    #[error("files of this type are not accepted (allowed: images, PDF, plain text, and audio for voice notes)")]
    TypeNotAllowed,
    /// Empty file.
    #[error("the file is empty")]
    Empty,
}

/// Decides the stored content type of an upload, or refuses it. Voice notes accept the audio
/// containers browsers record (WebM/Ogg Opus, MP4/AAC, MPEG, WAV); other uploads accept images,
/// PDF and UTF-8 text.
pub fn sniff(bytes: &[u8], is_voice: bool) -> Result<&'static str, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    let detected = infer::get(bytes).map(|kind| kind.mime_type());
    let allowed = if is_voice {
        match detected {
            // MediaRecorder's WebM is audio-only but shares the video container's magic.
            Some("video/webm" | "audio/webm") => Some("audio/webm"),
            Some("audio/ogg" | "audio/opus") => Some("audio/ogg"),
            Some("video/mp4" | "audio/mp4" | "audio/m4a" | "audio/x-m4a") => Some("audio/mp4"),
            Some("audio/mpeg") => Some("audio/mpeg"),
            Some("audio/x-wav" | "audio/wav") => Some("audio/wav"),
            _ => None,
        }
    } else {
        match detected {
            Some("image/png") => Some("image/png"),
            Some("image/jpeg") => Some("image/jpeg"),
            Some("image/gif") => Some("image/gif"),
            Some("image/webp") => Some("image/webp"),
            Some("application/pdf") => Some("application/pdf"),
            None if std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0) => {
                Some("text/plain; charset=utf-8")
            }
            _ => None,
        }
    };
    allowed.ok_or(UploadError::TypeNotAllowed)
}

/// A display name safe to put in a header: the last path component, control characters and
/// quotes removed, at most 200 characters.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != ';')
        .take(200)
        .collect();
    if cleaned.trim().is_empty() {
        "file".to_string()
    } else {
        cleaned.trim().to_string()
    }
}

/// Where attachments live.
pub fn attachments_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("attachments")
}

/// A fresh, unguessable storage name (no extension: the type lives in the database).
pub fn new_storage_name() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// Writes the file, readable by its owner only (as the directory, when this creates it): a
/// visitor's files are nobody else's on the machine. The file is removed again when the
/// returned guard is dropped without [`StoredFile::keep`], so a message that is refused or turns
/// out to be a retry leaves no file behind.
pub async fn store(data_dir: &Path, bytes: &[u8]) -> std::io::Result<StoredFile> {
    use tokio::io::AsyncWriteExt as _;
    let dir = attachments_dir(data_dir);
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(&dir).await?;
    let name = new_storage_name();
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let path = dir.join(&name);
    let mut file = options.open(&path).await?;
    // From here on the guard owns the file, so a failed write removes it too.
    let stored = StoredFile {
        path,
        name,
        kept: false,
    };
    file.write_all(bytes).await?;
    file.flush().await?;
    Ok(stored)
}

/// Removes an attachment's file (its record was erased); `Ok(false)` if it was not there. A
/// name that is not one [`new_storage_name`] makes (which could point elsewhere) is refused.
pub async fn remove(data_dir: &Path, storage_name: &str) -> std::io::Result<bool> {
    let plain = !storage_name.is_empty()
        && storage_name.len() <= 128
        && storage_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a storage name: {storage_name:?}"),
        ));
    }
    match tokio::fs::remove_file(attachments_dir(data_dir).join(storage_name)).await {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// A file written by [`store`] that is not yet referenced by a committed message.
#[derive(Debug)]
pub struct StoredFile {
    path: PathBuf,
    name: String,
    kept: bool,
}

impl StoredFile {
    /// Its generated storage name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The message that references it is committed: the file stays.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for StoredFile {
    fn drop(&mut self) {
        if !self.kept {
            // One unlink, done in place: a task could be lost at shutdown, and the file with it.
            if let Err(error) = std::fs::remove_file(&self.path) {
                tracing::warn!(%error, file = %self.name, "could not remove an unreferenced upload");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(PNG, false), Ok("image/png"));
        assert_eq!(sniff(b"%PDF-1.7\n", false), Ok("application/pdf"));
        assert_eq!(
            sniff("hello, wörld".as_bytes(), false),
            Ok("text/plain; charset=utf-8")
        );
        // An executable named .png is still an executable.
        assert_eq!(
            sniff(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff", false),
            Err(UploadError::TypeNotAllowed)
        );
        assert_eq!(
            sniff(b"\x1aE\xdf\xa3\x9fB\x86\x81\x01", true),
            Ok("audio/webm")
        );
        assert_eq!(sniff(b"OggS\0\x02\0\0\0\0\0\0\0\0", true), Ok("audio/ogg"));
        assert_eq!(
            sniff(PNG, true),
            Err(UploadError::TypeNotAllowed),
            "an image is not a voice note"
        );
        assert_eq!(sniff(b"", false), Err(UploadError::Empty));
        assert_eq!(
            sniff(b"\0\x01binary", false),
            Err(UploadError::TypeNotAllowed)
        );
    }

    #[tokio::test]
    async fn a_stored_file_not_kept_is_removed() {
        let dir = std::env::temp_dir().join(format!("parley-uploads-{}", new_storage_name()));
        let dropped = store(&dir, b"hello").await.expect("store");
        let dropped_path = attachments_dir(&dir).join(dropped.name());
        assert_eq!(std::fs::read(&dropped_path).expect("written"), b"hello");
        drop(dropped);
        assert!(!dropped_path.exists(), "an unreferenced file is removed");

        let kept = store(&dir, b"kept").await.expect("store");
        let kept_path = attachments_dir(&dir).join(kept.name());
        kept.keep();
        assert_eq!(std::fs::read(&kept_path).expect("kept"), b"kept");
        // Erasing removes it, once; a name that could point elsewhere is refused.
        let name = kept_path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(remove(&dir, &name).await.expect("remove"));
        assert!(!kept_path.exists());
        assert!(!remove(&dir, &name).await.expect("already gone"));
        for bad in ["", "../test.db", "a/b", "."] {
            assert!(remove(&dir, bad).await.is_err(), "{bad:?}");
        }
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn file_names_are_made_safe_for_headers() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_file_name("C:\\Users\\a\\photo \"1\".png"),
            "photo 1.png"
        );
        assert_eq!(clean_file_name("bad\r\nname.txt"), "badname.txt");
        assert_eq!(clean_file_name(""), "file");
    }
}
