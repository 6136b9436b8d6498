//! Turns TOML parse errors into problems a person can act on: line, column and the fix.

use crate::error::ConfigProblem;

use super::file::ConfigFile;

/// Parses config text, mapping each error to a [`ConfigProblem`] with a position.
pub(super) fn parse(text: &str) -> Result<ConfigFile, Vec<ConfigProblem>> {
    toml::from_str::<ConfigFile>(text).map_err(|e| vec![problem_from(text, &e)])
}

/// Parses and returns every problem, for `bifrost config check`.
pub fn check_text(text: &str) -> Vec<ConfigProblem> {
    parse(text).err().unwrap_or_default()
}

fn problem_from(text: &str, e: &toml::de::Error) -> ConfigProblem {
    let message = e.message().trim().to_string();
    let line = e.span().map(|s| super::line_col(text, s.start));
    let fix = fix_for(&message);
    ConfigProblem {
        path: None,
        line,
        message,
        fix,
    }
}

fn fix_for(message: &str) -> Option<String> {
    // serde: "unknown field `x`, expected one of `a`, `b`" / "expected `a`"
    // serde: "unknown variant `x`, expected one of `a`, `b`"
    for what in ["unknown field `", "unknown variant `"] {
        if let Some(rest) = message.strip_prefix(what) {
            let (bad, rest) = rest.split_once('`')?;
            let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
            if let Some(best) = suggest(bad, &expected) {
                return Some(format!("did you mean `{best}`?"));
            }
            if !expected.is_empty() {
                return Some(format!("write one of: {}", expected.join(", ")));
            }
            if what.starts_with("unknown field") {
                return Some(
                    "remove it; `bifrost config init` writes a template with every key".into(),
                );
            }
        }
    }
    if message.starts_with("invalid type") {
        return Some(
            "check the value's type against the template from `bifrost config init`".into(),
        );
    }
    None
}

/// The closest candidate by edit distance, when it is close enough to be a typo.
pub fn suggest<'a>(bad: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(bad, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(bad.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("base_ur", &["type", "base_url"]), Some("base_url"));
        assert_eq!(suggest("zzzzzz", &["type", "base_url"]), None);
    }

    #[test]
    fn template_parses_and_check_reports_syntax_errors() {
        assert!(check_text(super::super::TEMPLATE).is_empty());
        let p = check_text("[logs]\ncapture_bodies = yes\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line.map(|l| l.0), Some(2));
    }

    #[test]
    fn unknown_provider_type_lists_the_choices() {
        let p = check_text("[providers.x]\ntype = \"opnai\"\n");
        assert_eq!(p[0].fix.as_deref(), Some("did you mean `openai`?"));
    }
}
