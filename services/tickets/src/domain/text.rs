//! Ticket and comment text, bounded as the contract says.

/// A subject: trimmed, 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    pub const MAX: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("subject must not be empty".into());
        }
        if s.chars().count() > Self::MAX {
            return Err(format!("subject must be at most {} characters", Self::MAX));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: up to 20 000 characters (may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX: usize = 20_000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > Self::MAX {
            return Err(format!(
                "description must be at most {} characters",
                Self::MAX
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A comment body: 1–20 000 characters, not only whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX: usize = 20_000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Err("body must not be empty".into());
        }
        if raw.chars().count() > Self::MAX {
            return Err(format!("body must be at most {} characters", Self::MAX));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(Subject::parse("  Printer ").unwrap().as_str(), "Printer");
        assert!(Subject::parse("   ").is_err());
        assert!(Subject::parse(&"é".repeat(200)).is_ok());
        assert!(Subject::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn descriptions_may_be_empty_but_not_longer_than_twenty_thousand() {
        assert!(Description::parse("").is_ok());
        assert!(Description::parse(&"x".repeat(20_000)).is_ok());
        assert!(Description::parse(&"x".repeat(20_001)).is_err());
    }

    #[test]
    fn comment_bodies_need_some_text() {
        assert!(CommentBody::parse(" \n").is_err());
        assert!(CommentBody::parse("ok").is_ok());
        assert!(CommentBody::parse(&"x".repeat(20_001)).is_err());
    }
}
