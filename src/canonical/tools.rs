//! Tool names every provider accepts: namespaced tools flattened reversibly into
//! `[A-Za-z0-9_-]{1,64}`, stable across turns.

use super::ToolKind;

/// Where a provider-side tool name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOrigin {
    /// The namespace (Codex `namespace` tools, MCP servers), if any.
    pub namespace: Option<String>,
    /// The tool's own name.
    pub name: String,
    /// Function or custom.
    pub kind: ToolKind,
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `namespace__name`, with invalid characters replaced by `_`, cut to 64 characters with a
/// hash suffix when longer. The same input always gives the same name.
pub fn flatten_name(namespace: Option<&str>, name: &str) -> String {
    let full = match namespace {
        Some(ns) => format!("{ns}__{name}"),
        None => name.to_string(),
    };
    let clean: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() <= 64 && clean == full {
        return clean;
    }
    if clean.len() <= 55 {
        // Changed characters: add a hash so two names that differ only there stay distinct.
        return format!("{clean}_{:08x}", fnv1a(&full) as u32);
    }
    format!("{}_{:08x}", &clean[..55], fnv1a(&full) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_validly_and_stably() {
        assert_eq!(flatten_name(None, "exec_command"), "exec_command");
        assert_eq!(
            flatten_name(Some("multi_agent_v1"), "spawn_agent"),
            "multi_agent_v1__spawn_agent"
        );
        let dotted = flatten_name(Some("my.server"), "read file");
        assert!(dotted.starts_with("my_server__read_file_"), "{dotted}");
        let long = flatten_name(Some(&"n".repeat(50)), &"t".repeat(50));
        assert_eq!(long.len(), 64);
        assert_eq!(long, flatten_name(Some(&"n".repeat(50)), &"t".repeat(50)));
        assert_ne!(long, flatten_name(Some(&"n".repeat(50)), &"t".repeat(51)));
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
    }
}
