//! Repository hygiene that code review forgets: every Rust file opens with a `//!` comment
//! saying its role, and the crate graph flows one way (config → js → web → server → nanod).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !matches!(path.file_name().and_then(|n| n.to_str()), Some("target" | "node_modules" | "fixtures")) {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_doc_comment() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<_> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(missing.is_empty(), "files without a leading //! comment: {missing:#?}");
}

#[test]
fn crate_graph_flows_one_way() {
    // Each crate may depend only on crates to its left.
    let order = ["nanod-config", "nanod-js", "nanod-web", "nanod-server", "nanod"];
    let allowed: &[(&str, &[&str])] = &[
        ("nanod-config", &[]),
        ("nanod-js", &[]),
        ("nanod-web", &["nanod-config", "nanod-js"]),
        ("nanod-server", &["nanod-config", "nanod-js", "nanod-web"]),
        ("nanod", &["nanod-config", "nanod-server"]),
    ];
    for (krate, may_use) in allowed {
        let manifest = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).expect("manifest");
        for other in order {
            let uses = manifest.lines().any(|l| {
                l.trim_start().starts_with(&format!("{other}.workspace"))
                    || l.trim_start().starts_with(&format!("{other} ="))
            });
            if uses {
                assert!(may_use.contains(&other), "{krate} must not depend on {other}");
            }
        }
    }
}
