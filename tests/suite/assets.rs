//! completions/ and man/ are generated from the CLI and committed; they must not drift.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn committed_completions_and_man_pages_match_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected = bifrost::commands::render_assets().expect("render");
    let mut names = BTreeSet::new();
    for (rel, bytes) in &expected {
        names.insert(rel.clone());
        let on_disk = std::fs::read(root.join(rel)).unwrap_or_default();
        assert!(
            on_disk == *bytes,
            "{} is stale or missing: run `cargo run -- generate-assets` and commit the result",
            rel.display()
        );
    }
    for dir in ["completions", "man"] {
        for e in std::fs::read_dir(root.join(dir)).expect("dir").flatten() {
            let rel = Path::new(dir).join(e.file_name());
            assert!(
                names.contains(&rel),
                "{} is no longer generated: delete it",
                rel.display()
            );
        }
    }
    assert!(names.iter().any(|p| p.ends_with("bifrost-codex.1")));
    assert!(names.iter().any(|p| p.ends_with("_bifrost")));
}
