//! The `q` parameter: free text turned into words, so that no user input ever reaches the
//! FTS5 or tsquery syntax. Every word must match (AND), case-insensitively.

/// A parsed search: at most 16 words of letters and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

impl SearchQuery {
    pub const MAX_CHARS: usize = 200;
    const MAX_WORDS: usize = 16;

    /// `None` for a blank query (no filter); an error for one that is too long.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(format!("q must be at most {} characters", Self::MAX_CHARS));
        }
        if raw.trim().is_empty() {
            return Ok(None);
        }
        let words: Vec<String> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(Self::MAX_WORDS)
            .map(str::to_lowercase)
            .collect();
        Ok(Some(Self { words }))
    }

    /// True when the text had no searchable word (only punctuation): nothing can match.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// An FTS5 MATCH expression: each word a quoted string, implicitly ANDed.
    pub fn fts5(&self) -> String {
        self.words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Text for Postgres `plainto_tsquery`, which ANDs the words itself.
    pub fn plain(&self) -> String {
        self.words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_syntax_in_the_input_is_only_text() {
        let q = SearchQuery::parse(r#"Printer "OR" NEAR(x* -y) ^z"#)
            .unwrap()
            .unwrap();
        assert_eq!(q.fts5(), r#""printer" "or" "near" "x" "y" "z""#);
        assert_eq!(q.plain(), "printer or near x y z");
    }

    #[test]
    fn blank_queries_are_no_filter_and_punctuation_matches_nothing() {
        assert_eq!(SearchQuery::parse("   "), Ok(None));
        assert!(SearchQuery::parse("!!").unwrap().unwrap().is_empty());
        assert!(SearchQuery::parse(&"a".repeat(201)).is_err());
    }
}
