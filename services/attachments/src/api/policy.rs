//! What an upload may be, as clients read it (`GET /api/attachments/policy`), so the web app
//! says the limits the service enforces instead of copies of them.
//!
//! Nothing here is a second list: the types are [`FileKind::ALL`], the table the sniffer
//! decides by; the size is `MAX_UPLOAD_BYTES`, the setting the upload counts bytes against; the
//! count is [`MAX_FILES`], the constant the body's framing and the document use.

use poem_openapi::Object;

use crate::{Settings, domain::FileKind, upload::MAX_FILES};

/// The limits every upload is checked against.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct UploadPolicy {
    /// Largest file accepted, in bytes, inclusive; a larger one is refused with 413.
    pub max_file_bytes: u64,
    /// Files accepted in one request; more is a 422.
    pub max_files: u32,
    /// The allowed types. A file is accepted when its bytes are one of these and its name
    /// ends in one of that type's extensions; anything else is refused with 415.
    pub types: Vec<AllowedType>,
}

/// One allowed type.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct AllowedType {
    /// What people call it ("JPEG", "DOCX").
    pub name: String,
    /// The media type it is stored and served as.
    pub media_type: String,
    /// The extensions a file of this type may have (lower case, without the dot).
    pub extensions: Vec<String>,
}

impl UploadPolicy {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            max_file_bytes: settings.max_upload_bytes,
            max_files: u32::try_from(MAX_FILES).unwrap_or(u32::MAX),
            types: FileKind::ALL
                .into_iter()
                .map(|kind| AllowedType {
                    name: kind.name().to_owned(),
                    media_type: kind.mime().to_owned(),
                    extensions: kind.extensions().iter().map(|&e| e.to_owned()).collect(),
                })
                .collect(),
        }
    }
}
